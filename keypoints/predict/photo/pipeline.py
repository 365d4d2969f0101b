"""The predictor for one photo: read, detect, align and cut, predict, map back, draw.

Entry points (the benchmarks time :func:`predict_file`)::

    model = load_predictor_model(path_or_None)          # once
    detector = make_detector("yunet")                    # once; or "haar"
    result = predict_file("photo.jpg", model, detector)  # read -> detect -> align -> predict -> draw
    predict_file("photo.jpg", model, detector, options=PredictOptions(keep_low_score=True, align=False))
    result.faces[0].keypoints                            # (15, 2) photo pixels
    result.faces[0].score, result.faces[0].error_px      # detector score, estimated keypoint error

:mod:`keypoints.predict.batch` runs it over many photos and videos and writes the results.
"""

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from keypoints import paths
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS, column_indices
from keypoints.errors import ImageError, ModelFileError
from keypoints.guards import check_finite_predictions
from keypoints.model.inference import one_thread, predict_pixels
from keypoints.predict.crops.crop import Crop
from keypoints.predict.crops.framing import first_crops
from keypoints.predict.detect import Detections, as_detections, make_detector
from keypoints.predict.estimates.confidence import (
    LARGE_ERROR,
    error_head_of,
    estimate_error,
    face_errors,
    predict_with_disagreement,
)
from keypoints.predict.inputs.read import read_photo
from keypoints.predict.options import ALIGN, PredictOptions
from keypoints.predict.outputs.draw import draw_photo_faces
from keypoints.predict.photo.refine import refine_keypoints, refine_windows
from keypoints.predict.photo.rereading import better_read

REFINE_STEPS = 2
"""Crops re-fitted to the network's own keypoints before the final prediction: the
detector's framing varies more than the training faces', and re-cutting the square that
puts the prediction on the mean training keypoints frames the face as in training. Each
step is one more batch (see docs/decisions/0018-re-framing-and-flip-averaging.md)."""


FLIP_AVERAGE = True
"""Average each face's keypoints with those of its mirror image, mirrored back: lower
error, and the two predictions' disagreement gives the keypoint confidence. Each face then
costs two passes (see docs/decisions/0018-re-framing-and-flip-averaging.md)."""


TURN_ERROR = 0.07
"""A face found on the upright copy alone whose estimated error exceeds this fraction of its predicted
eye distance sends the photo to every turned copy of the detector (see docs/decisions/0019-passes-that-pay.md):
lower than ``LARGE_ERROR``, as YuNet's wrong landmarks on faces turned 45 degrees often give 0.07-0.10."""


QUARTER_TURN_ERROR = 0.07
"""A face whose estimated error is still over this fraction of its eye distance after every 40-degree copy sends the
photo to the copies turned a quarter and a half round (``QUARTER_TURNS`` of the detector; see
docs/decisions/0077-photos-on-their-side-or-upside-down.md)."""


@dataclass
class PhotoFace:
    """One face found in a photo.

    Attributes
    ----------
    box : tuple of int
        The detector's ``x, y, w, h``, photo pixels.
    crop : Crop or AlignedCrop
        The square the keypoints were predicted in (an ``AlignedCrop`` when turned upright).
    keypoints : ndarray of float64, shape (15, 2)
        ``x, y`` in photo pixels, ``KEYPOINTS`` order.
    score : float
        The detector's score in [0, 1]; NaN for a detector without one (Haar).
    error_px : float
        Estimated mean keypoint error in photo pixels (:mod:`keypoints.predict.estimates.confidence`);
        NaN when the model cannot be flip-averaged.
    low_score : bool
        Scored below the detector's ``min_score`` (kept only with ``keep_low_score``).
    disagreement : float
        Mean distance between the face's and its mirror image's predictions, 96-frame px (NaN without them).
    keypoint_errors_px : ndarray of float64, shape (15,), or None
        The estimated error of each keypoint, photo pixels, from its own disagreement; their mean is ``error_px``.
    """

    box: tuple
    crop: Crop
    keypoints: np.ndarray
    score: float = float("nan")
    error_px: float = float("nan")
    low_score: bool = False
    disagreement: float = float("nan")
    keypoint_errors_px: np.ndarray = None

    @property
    def large_error(self):
        """Whether the estimated error exceeds ``LARGE_ERROR`` of the predicted distance between the eyes."""
        eyes = np.linalg.norm(self.keypoints[0] - self.keypoints[1])
        return bool(self.error_px > LARGE_ERROR * eyes)

    @property
    def doubtful(self):
        """A low score or a large estimated error: drawn so that a person sees it at a glance."""
        return self.low_score or self.large_error


@dataclass
class PhotoResult:
    """What the predictor made of one file.

    Attributes
    ----------
    path : Path
    faces : list of PhotoFace
        Empty when the photo has no face or could not be read.
    image : ndarray of uint8, shape (H, W, 3), or None
        The photo, annotated when drawing was on (None when it could not be read).
    size : tuple of int, or None
        ``(width, height)`` of the photo.
    error : str or None
        Why the file could not be read.
    output : Path or None
        Where the annotated copy was written.
    crops : list of Path or None
        Where each face's zoomed crop was written, in face order.
    """

    path: Path
    faces: list = field(default_factory=list)
    image: np.ndarray = None
    size: tuple = None
    error: str = None
    output: Path = None
    crops: list = None


def load_predictor_model(model=None, device=None):
    """The model the predictor uses: a loaded model, a path, or the shipped one.

    Parameters
    ----------
    model : str, Path, LoadedModel or OnnxModel, optional
        A ``.onnx`` file (``keypoints export``) runs in OpenCV's DNN module, without torch; a ``.pt``
        file runs in torch. Default: the shipped ``default.onnx``, or with ``device`` the shipped ``default.pt``.
    device : str, optional
        Run a torch model there (``"cuda"``, ``"cpu"``); needs torch.

    Raises
    ------
    ModelFileError
        No such file (the message says how to get one), not a keypoints model, not one that predicts all 15
        keypoints, a broken error head in its card, or a ``.pt`` file (or ``device``) where torch is not installed.
    """
    from keypoints.model.onnx_model import is_onnx_file, load_onnx_model

    if model is None:
        model = paths.model_path(None, paths.PREDICTOR_MODEL if device is None else paths.DEFAULT_MODEL)
    if isinstance(model, (str, Path)) and is_onnx_file(model):
        if device not in (None, "cpu"):
            raise ModelFileError(
                f"{model}: an ONNX model runs on the CPU; for device={device!r} pass the .pt file it was exported from"
            )
        model = load_onnx_model(model)
    elif isinstance(model, (str, Path)):
        model = _load_torch_model(model, device or "cpu")
    missing = [c for c in KEYPOINT_COLUMNS if c not in model.columns]
    if missing:
        raise ModelFileError(
            f"{model.path}: predicts {len(model.columns)} columns, not all 30 the predictor "
            f"draws (missing {', '.join(missing[:4])}...); use a model trained on every keypoint"
        )
    error_head_of(model)  # a broken error head is named now, not at every photo
    return model


def _load_torch_model(path, device):
    try:
        from keypoints.model.checkpoint import load_model
    except ModuleNotFoundError as error:
        if error.name != "torch":
            raise
        raise ModelFileError(
            f"{path}: a PyTorch model file, and PyTorch is not installed here. Install it with "
            '`pip install "keypoints[train]"`, or, where it is installed, export the model once '
            "(`keypoints export " + Path(path).name + "`) and pass the .onnx file, which runs without torch."
        ) from error
    return load_model(path, device=device)


def predict_faces(
    gray,
    boxes,
    model,
    refine_steps=REFINE_STEPS,
    windows=None,
    flip_average=FLIP_AVERAGE,
    landmarks=None,
    scores=None,
    align=ALIGN,
):
    """Keypoints of the faces in given boxes of a gray photo, all in one batch.

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
    boxes : ndarray, shape (F, 4), or Detections
        ``x, y, w, h`` from the detector; :class:`~keypoints.predict.detect.Detections` bring
        their scores, landmarks and which are low-scored (``low``).
    model : LoadedModel
    refine_steps : int
        See ``REFINE_STEPS``.
    windows : FullyConvolutional, optional
        ``--refine``: the model's fully-convolutional form; the last keypoints are then averaged over
        the windows around each crop (:func:`keypoints.predict.photo.refine.refine_keypoints`). Its windows
        are upright squares, so the faces are then cut from their boxes, not aligned.
    flip_average : bool
        Average each prediction with the mirrored face's (see ``FLIP_AVERAGE``); needs the mirror
        axis in the model card (``flip_mirror_sum_px``), and is skipped for a model without it.
    landmarks : ndarray, shape (F, 5, 2), optional
        The detector's five landmarks: the first crop is framed from them (turned upright when ``align``).
    scores : ndarray, shape (F,), optional
        The detector's scores.
    align : bool
        Turn faces with landmarks upright (see ``ALIGN``); without, they are framed from their
        landmarks but not turned.

    Returns
    -------
    list of PhotoFace
    """
    found = as_detections(boxes)
    if landmarks is not None or scores is not None:
        found = Detections(
            found.boxes,
            found.scores if scores is None else np.asarray(scores, dtype=np.float64),
            found.landmarks if landmarks is None else np.asarray(landmarks, dtype=np.float64),
            found.low,
        )
    return predict_faces_of_images([(gray, found)], model, refine_steps, windows, flip_average, align)[0]


def predict_faces_of_images(
    images, model, refine_steps=REFINE_STEPS, windows=None, flip_average=FLIP_AVERAGE, align=ALIGN
):
    """Keypoints of the faces of several gray photos, the network run once per pass on all their faces together.

    Parameters
    ----------
    images : sequence of (ndarray of uint8 (H, W), Detections or ndarray (F, 4))
        Each photo and its faces, as for :func:`predict_faces`.
    model, refine_steps, windows, flip_average, align
        As for :func:`predict_faces`.

    Returns
    -------
    list of list of PhotoFace
        One list per photo, its faces in the order given.
    """
    grays, owners, boxes, scores, lows, framings, first = [], [], [], [], [], [], []
    for index, (gray, found) in enumerate(images):
        found = as_detections(found)
        grays.append(gray)
        owners += [index] * len(found)
        boxes += list(found.boxes)
        scores += list(found.scores)
        lows += list(found.low_scores)
        each_framing, each_crop = first_crops(found, windows, align)
        framings += each_framing
        first += each_crop
    results = [[] for _ in images]
    if not boxes:
        return results
    order = column_indices(model.columns, KEYPOINT_COLUMNS)
    keypoint_order = np.asarray(order[0::2]) // 2  # the model's keypoint of each KEYPOINTS entry
    mirror_sum = model.card.get("flip_mirror_sum_px")
    mirrored = flip_average and mirror_sum is not None
    crops = list(first)
    gaps = np.full((len(crops), len(KEYPOINTS)), np.nan)
    features = None
    for step in range(refine_steps + 1):
        if step == refine_steps and windows is not None:
            # --refine gives the last keypoints itself: no plain pass to throw away
            points = [refine_keypoints(grays[i], c, windows, model.columns) for i, c in zip(owners, crops)]
            break
        with one_thread():
            cut = np.concatenate([f.cut(grays[i], [c]) for i, f, c in zip(owners, framings, crops)])
            if mirrored:
                # the last pass's features feed the learned error estimate
                pixels, gaps, features = predict_with_disagreement(
                    model.module, cut, model.columns, mirror_sum, per_keypoint=True, features=True
                )
                gaps = gaps[:, keypoint_order]
            else:
                pixels = predict_pixels(model.module, cut)
        pixels = pixels[:, order].reshape(-1, len(KEYPOINTS), 2)
        check_finite_predictions(pixels, model.path)
        points = [f.to_frame(p, c) for f, p, c in zip(framings, pixels, crops)]
        if step == refine_steps:
            break
        refined = [f.reframe(p, c) for f, p, c in zip(framings, points, crops)]
        crops = [r if f.keep(a, r) else c for f, a, r, c in zip(framings, first, refined, crops)]
    if windows is not None:
        gaps = np.full((len(crops), len(KEYPOINTS)), np.nan)  # the windows' average has no mirror pass
    sides = np.array([c.side for c in crops], dtype=np.float64)
    errors, keypoint_errors = face_errors(error_head_of(model), gaps, features, np.array(points), sides)
    for i, box, crop, framing, p, score, error, is_low, gap, each in zip(
        owners, boxes, crops, framings, points, scores, errors, lows, gaps.mean(axis=1), keypoint_errors
    ):
        face = PhotoFace(
            tuple(int(v) for v in np.rint(box)),
            crop,
            framing.clip(p, crop),
            float(score),
            float(error),
            bool(is_low),
            float(gap),
            each,
        )
        results[i].append(face)
    return results


def predict_image(image, model, detector=None, draw=True, options=None, windows=None, refine_steps=REFINE_STEPS):
    """Faces and keypoints in a BGR photo already in memory: detect -> align -> predict -> draw.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        BGR; drawn on (in place) when ``draw``.
    model : LoadedModel
    detector : FaceDetector, optional
        From :func:`keypoints.predict.detect.make_detector` (default: YuNet); made once and
        passed in when predicting many photos. It applies its own ``min_score``.
    draw : bool
    options : PredictOptions, optional
        ``keep_low_score``, ``align`` and ``refine`` (default: ``PredictOptions()``).
    windows : FullyConvolutional, optional
        The model's fully-convolutional form for ``refine``, made once with
        :func:`~keypoints.predict.photo.refine.fully_convolutional_model` when predicting many photos;
        given, the keypoints are refined.
    refine_steps : int
        See ``REFINE_STEPS``.

    Returns
    -------
    list of PhotoFace
    """
    options = options or PredictOptions()
    detector = detector or make_detector()
    windows = refine_windows(model, options, windows)
    faces = detect_and_predict(image, model, detector, options, windows, refine_steps)
    if draw and faces:
        draw_photo_faces(image, faces)
    return faces


def detect_and_predict(image, model, detector, options, windows=None, refine_steps=REFINE_STEPS):
    """The faces of a BGR photo and their keypoints, the detector's turned copies searched where they pay.

    A detector that turns its search (YuNet) first trusts its upright copy when that finds only faces
    near upright; if one of the faces predicted from it then has a large estimated error (``TURN_ERROR``; its landmarks
    were wrong, as YuNet's are on faces turned 45 degrees and more), the photo is searched again on every
    turned copy and predicted anew (see docs/decisions/0019-passes-that-pay.md).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
    model : LoadedModel
    detector : FaceDetector
    options : PredictOptions
    windows : FullyConvolutional, optional
    refine_steps : int

    Returns
    -------
    list of PhotoFace
    """
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return search_faces(image, gray, model, detector, options, windows, refine_steps)[1]


def search_faces(image, gray, model, detector, options, windows=None, refine_steps=REFINE_STEPS):
    """:func:`detect_and_predict` on a photo and its gray copy, with the detections too (for the videos' key frames).

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3) or (H, W)
        What the detector searches.
    gray : ndarray of uint8, shape (H, W)
    model, detector, options, windows, refine_steps
        As for :func:`detect_and_predict`.

    Returns
    -------
    found : Detections
    faces : list of PhotoFace
        Predicted from ``found``, in its order.
    """
    return search_faces_of_images([(image, gray)], model, detector, options, windows, refine_steps)[0]


def search_faces_of_images(images, model, detector, options, windows=None, refine_steps=REFINE_STEPS, given=None):
    """:func:`search_faces` on several photos, the network run once per pass on all their faces together.

    Parameters
    ----------
    images : sequence of (ndarray, ndarray of uint8 (H, W))
        Each photo as the detector searches it, and its gray copy.
    model, detector, options, windows, refine_steps
        As for :func:`detect_and_predict`.
    given : sequence of (ndarray (F, 4) or None), optional
        Boxes for a photo that skip its detection (and its turned search); None: detect it.

    Returns
    -------
    list of (Detections or ndarray, list of PhotoFace)
        Per photo, what was predicted from (its detections, or its given boxes) and the faces, in that order.
    """
    given = [None] * len(images) if given is None else list(given)

    def detect(k, every_turn=False, quarter_turns=False):
        return detector.detect(
            images[k][0], keep_low_score=options.keep_low_score, every_turn=every_turn, quarter_turns=quarter_turns
        )

    def predict(indices, found):
        items = [(images[k][1], f) for k, f in zip(indices, found)]
        return predict_faces_of_images(items, model, refine_steps, windows, align=options.align)

    found = [detect(k) if boxes is None else boxes for k, boxes in enumerate(given)]
    faces = predict(range(len(images)), found)
    # a photo whose upright search gave a doubtful face is searched on every turned copy and predicted anew
    again = [
        k
        for k, (f, predicted) in enumerate(zip(found, faces))
        if given[k] is None and not f.all_turns and any(worth_turning(face) for face in predicted)
    ]
    if again:
        redone = [detect(k, every_turn=True) for k in again]
        for k, f, predicted in zip(again, redone, predict(again, redone)):
            found[k], faces[k] = f, predicted
    # still doubtful: the photo may lie on its side or upside down, so the copies turned a quarter and a half round
    # are searched too
    again = [
        k
        for k, predicted in enumerate(faces)
        if given[k] is None and detector.turnable and any(worth_turning(face, QUARTER_TURN_ERROR) for face in predicted)
    ]
    if again:
        redone = [detect(k, every_turn=True, quarter_turns=True) for k in again]
        for k, f, predicted in zip(again, redone, predict(again, redone)):
            # each face from the copy that reads it best: a doubtful upright face can also be found on a turned copy
            found[k], faces[k] = better_read(found[k], faces[k], f, predicted)
    return list(zip(found, faces))


def worth_turning(face, limit=None):
    """Whether a face's estimated error (NaN: no) is over ``limit`` (default ``TURN_ERROR``) of its predicted eye
    distance; the mirror line's estimate counts in full here, as it is what tells a face read upside down."""
    limit = TURN_ERROR if limit is None else limit
    if not np.isfinite(face.error_px):
        return False
    mirror = estimate_error(face.disagreement, face.crop.side) if np.isfinite(face.disagreement) else 0.0
    eyes = np.linalg.norm(face.keypoints[0] - face.keypoints[1])
    return bool(max(face.error_px, mirror) > limit * eyes)


def predict_file(path, model, detector=None, draw=True, options=None, windows=None):
    """One photo end to end: read -> detect -> align -> predict -> draw (nothing is written).

    Parameters
    ----------
    path : str or Path
    model : LoadedModel
        From :func:`load_predictor_model`.
    detector : detector, optional
        Any detector from :func:`keypoints.predict.detect.make_detector` (default: YuNet).
    draw : bool
    options : PredictOptions, optional
    windows : FullyConvolutional, optional
        As for :func:`predict_image`.

    Returns
    -------
    PhotoResult
        With ``error`` set, instead of an exception, when the file cannot be read.
    """
    path = Path(path)
    try:
        image = read_photo(path)
    except ImageError as error:
        return PhotoResult(path, error=str(error))
    faces = predict_image(image, model, detector, draw, options, windows)
    return PhotoResult(path, faces, image, (image.shape[1], image.shape[0]))
