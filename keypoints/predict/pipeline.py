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

from keypoints.checkpoint import load_model
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS, column_indices
from keypoints.errors import ImageError, ModelFileError
from keypoints.guards import check_finite_predictions
from keypoints.inference import one_thread, predict_pixels
from keypoints.predict.align import (
    aligned_to_photo,
    clip_to_aligned,
    crop_for_landmarks,
    cut_aligned,
    reframe_ok,
    reframe_on_keypoints,
)
from keypoints.predict.confidence import LARGE_ERROR, estimate_error, predict_with_disagreement
from keypoints.predict.crop import (
    Crop,
    clip_to_crop,
    crop_for_box,
    crop_for_keypoints,
    cut_faces,
    refine_ok,
    to_photo,
)
from keypoints.predict.detect import as_detections, make_detector
from keypoints.predict.draw import draw_photo_faces
from keypoints.predict.options import ALIGN, PredictOptions
from keypoints.predict.read import read_photo
from keypoints.predict.refine import refine_keypoints, refine_windows

REFINE_STEPS = 2
"""Crops re-fitted to the network's own keypoints before the final prediction: the
detector's framing varies more than the training faces', and re-cutting the square that
puts the prediction on the mean training keypoints frames the face as in training. Each
step is one more batch (see docs/decisions.md, "Re-framing and flip averaging")."""


FLIP_AVERAGE = True
"""Average each face's keypoints with those of its mirror image, mirrored back: lower
error, and the two predictions' disagreement gives the keypoint confidence. Each face then
costs two passes (see docs/decisions.md, "Re-framing and flip averaging")."""


TURN_ERROR = 0.07
"""A face found on the upright copy alone whose estimated error exceeds this fraction of its predicted
eye distance sends the photo to every turned copy of the detector (see docs/decisions.md, "Passes that pay"):
lower than ``LARGE_ERROR``, as YuNet's wrong landmarks on faces turned 45 degrees often give 0.07-0.10."""


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
        Estimated mean keypoint error in photo pixels (:mod:`keypoints.predict.confidence`);
        NaN when the model cannot be flip-averaged.
    low_score : bool
        Scored below the detector's ``min_score`` (kept only with ``keep_low_score``).
    disagreement : float
        Mean distance between the face's and its mirror image's predictions, 96-frame px (NaN without them).
    """

    box: tuple
    crop: Crop
    keypoints: np.ndarray
    score: float = float("nan")
    error_px: float = float("nan")
    low_score: bool = False
    disagreement: float = float("nan")

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


def load_predictor_model(model=None, device="cpu"):
    """The model the predictor uses: a loaded model, a path, or the default file.

    Raises
    ------
    ModelFileError
        No such file (the message says how to get one), not a keypoints
        model, or not one that predicts all 15 keypoints.
    """
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model, device=device)  # None: the shipped model
    missing = [c for c in KEYPOINT_COLUMNS if c not in model.columns]
    if missing:
        raise ModelFileError(
            f"{model.path}: predicts {len(model.columns)} columns, not all 30 the predictor "
            f"draws (missing {', '.join(missing[:4])}...); use a model trained on every keypoint"
        )
    return model


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
        the windows around each crop (:func:`keypoints.predict.refine.refine_keypoints`). Its windows
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
    boxes = found.boxes
    landmarks = found.landmarks if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    scores = found.scores if scores is None else np.asarray(scores, dtype=np.float64)
    low = found.low_scores
    if not len(boxes):
        return []
    order = column_indices(model.columns, KEYPOINT_COLUMNS)
    mirror_sum = model.card.get("flip_mirror_sum_px")
    mirrored = flip_average and mirror_sum is not None
    if landmarks is not None and windows is None:
        first = [crop_for_landmarks(marks, rotate=align) for marks in landmarks]
        cut, to_frame, reframe, keep, clip = (
            cut_aligned,
            aligned_to_photo,
            reframe_on_keypoints,
            reframe_ok,
            clip_to_aligned,
        )
    else:
        first = [crop_for_box(box) for box in boxes]
        cut, to_frame, keep, clip = cut_faces, to_photo, refine_ok, clip_to_crop

        def reframe(points, crop):
            return crop_for_keypoints(points)

    crops = list(first)
    gaps = np.full(len(crops), np.nan)
    for step in range(refine_steps + 1):
        if step == refine_steps and windows is not None:
            # --refine gives the last keypoints itself: no plain pass to throw away
            points = [refine_keypoints(gray, c, windows, model.columns) for c in crops]
            break
        with one_thread():
            images = cut(gray, crops)
            if mirrored:
                pixels, gaps = predict_with_disagreement(model.module, images, model.columns, mirror_sum)
            else:
                pixels = predict_pixels(model.module, images)
        pixels = pixels[:, order].reshape(-1, len(KEYPOINTS), 2)
        check_finite_predictions(pixels, model.path)
        points = [to_frame(p, c) for p, c in zip(pixels, crops)]
        if step == refine_steps:
            break
        refined = [reframe(p, c) for p, c in zip(points, crops)]
        crops = [r if keep(f, r) else c for f, r, c in zip(first, refined, crops)]
    if windows is not None:
        gaps = np.full(len(crops), np.nan)  # the windows' average has no mirror pass
    errors = estimate_error(gaps, [c.side for c in crops])
    return [
        PhotoFace(
            tuple(int(v) for v in np.rint(box)),
            crop,
            clip(p, crop),
            float(score),
            float(error),
            bool(is_low),
            float(gap),
        )
        for box, crop, p, score, error, is_low, gap in zip(boxes, crops, points, scores, errors, low, gaps)
    ]


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
        :func:`~keypoints.predict.refine.fully_convolutional_model` when predicting many photos;
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
    turned copy and predicted anew (see docs/decisions.md, "Passes that pay").

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
    found = detector.detect(image, keep_low_score=options.keep_low_score)
    faces = predict_faces(gray, found, model, refine_steps, windows, align=options.align)
    if not found.all_turns and any(_worth_turning(face) for face in faces):
        found = detector.detect(image, keep_low_score=options.keep_low_score, every_turn=True)
        faces = predict_faces(gray, found, model, refine_steps, windows, align=options.align)
    return found, faces


def _worth_turning(face):
    """Whether a face's estimated error (NaN: no) is over ``TURN_ERROR`` of its predicted eye distance."""
    eyes = np.linalg.norm(face.keypoints[0] - face.keypoints[1])
    return bool(face.error_px > TURN_ERROR * eyes)


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
