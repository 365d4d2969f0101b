"""The predictor end to end: read, detect, cut, predict, map back, draw; and a run over many photos.

Entry points (the benchmarks time :func:`predict_file`)::

    model = load_predictor_model(path_or_None)          # once
    detector = FaceDetector()                            # once
    result = predict_file("photo.jpg", model, detector)  # read -> detect -> predict -> draw
    result.faces[0].keypoints                            # (15, 2) photo pixels
    summary = predict_photos(["a.jpg", "dir/"], model, "results")  # + keypoints.csv, index.html
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from keypoints import paths
from keypoints.checkpoint import load_model
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS, column_indices
from keypoints.errors import ImageError, ModelFileError, NoPhotosError
from keypoints.inference import predict_pixels, predict_pixels_flip_averaged
from keypoints.predict.crop import (
    Crop,
    clip_to_crop,
    crop_for_box,
    crop_for_keypoints,
    cut_faces,
    refine_ok,
    to_photo,
)
from keypoints.predict.detect import FaceDetector
from keypoints.predict.discover import find_photos
from keypoints.predict.draw import draw_faces
from keypoints.predict.read import read_photo
from keypoints.predict.refine import fully_convolutional_model, refine_keypoints

REFINE_STEPS = 2
"""Crops re-fitted to the network's own keypoints before the final prediction.

The Haar box's scale varies almost twice as much as the training faces' (sd
8.4 % against 4.6 %), so the first crop is framed unlike the faces the network
learned; re-cutting the square that puts the prediction on the mean training
keypoints, and predicting again, frames the face as in training. Measured on
the 24 test frames against the ideal crop: scale sd 8.3 % with no step, 6.0 %
after one, 4.7 % after two (shift sd 1.9 / 1.1 / 0.8 px in x); NME 0.066,
0.063, 0.062 (bnconv, 15 CPU epochs). Each step is one more batch through
the network."""


FLIP_AVERAGE = True
"""Average each face's keypoints with those of its mirror image, mirrored back.

Measured on the 24 test frames (bnconv, 15 CPU epochs, two re-framing
steps): NME 0.0619 without, 0.0595 with. Each face then costs two passes
through the network."""


@dataclass
class PhotoFace:
    """One face found in a photo.

    Attributes
    ----------
    box : tuple of int
        The detector's ``x, y, w, h``, photo pixels.
    crop : Crop
        The square the keypoints were predicted in.
    keypoints : ndarray of float64, shape (15, 2)
        ``x, y`` in photo pixels, ``KEYPOINTS`` order.
    """

    box: tuple
    crop: Crop
    keypoints: np.ndarray


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


@dataclass
class PredictionSummary:
    """The outcome of :func:`predict_photos`."""

    results: list
    out_dir: Path
    csv_path: Path
    html_path: Path
    json_path: Path = None

    @property
    def read(self):
        return [r for r in self.results if r.error is None]

    @property
    def unreadable(self):
        return [r for r in self.results if r.error is not None]

    @property
    def no_face(self):
        return [r for r in self.read if not r.faces]

    @property
    def n_faces(self):
        return sum(len(r.faces) for r in self.results)

    @property
    def exit_code(self):
        """0 when every file was read (faces or not), 1 otherwise."""
        return 1 if self.unreadable else 0

    def line(self):
        """The one-line summary."""
        read = self.read
        text = f"{len(read)} photo{'s'[: len(read) != 1]} read, {self.n_faces} face{'s'[: self.n_faces != 1]} found"
        if self.no_face:
            text += f"; no face in {len(self.no_face)}: " + ", ".join(str(r.path) for r in self.no_face)
        if self.unreadable:
            text += f"; {len(self.unreadable)} could not be read: " + ", ".join(
                f"{r.path} ({_reason(r)})" for r in self.unreadable
            )
        written = [p.name for p in (self.html_path, self.csv_path, self.json_path) if p is not None]
        return text + f"; results in {self.out_dir}/ ({', '.join(written)})"


def load_predictor_model(model=None, device="cpu"):
    """The model the predictor uses: a loaded model, a path, or the default file.

    Raises
    ------
    ModelFileError
        No such file (the message says how to get one), not a keypoints
        model, or not one that predicts all 15 keypoints.
    """
    if model is None:
        if not paths.DEFAULT_MODEL.is_file():
            raise ModelFileError(
                f"no model file: {paths.DEFAULT_MODEL} is missing. It ships with the project "
                "(restore it with `git checkout keypoints/assets/default.pt`), or train one with `make train` "
                "and pass it with --model models/bnconv.pt"
            )
        model = paths.DEFAULT_MODEL
    if isinstance(model, (str, Path)):
        model = load_model(model, device=device)
    missing = [c for c in KEYPOINT_COLUMNS if c not in model.columns]
    if missing:
        raise ModelFileError(
            f"{model.path}: predicts {len(model.columns)} columns, not all 30 the predictor "
            f"draws (missing {', '.join(missing[:4])}...); use a model trained on every keypoint"
        )
    return model


def predict_faces(gray, boxes, model, refine_steps=REFINE_STEPS, windows=None, flip_average=FLIP_AVERAGE):
    """Keypoints of the faces in given boxes of a gray photo, all in one batch.

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
    boxes : ndarray, shape (F, 4)
        ``x, y, w, h`` from the detector.
    model : LoadedModel
    refine_steps : int
        See ``REFINE_STEPS``.
    windows : FullyConvolutional, optional
        ``--refine``: the model's fully-convolutional form; the last keypoints are then averaged over
        the windows around each crop (:func:`keypoints.predict.refine.refine_keypoints`).
    flip_average : bool
        Average each prediction with the mirrored face's (see ``FLIP_AVERAGE``); needs the mirror
        axis in the model card (``flip_mirror_sum_px``), and is skipped for a model without it.

    Returns
    -------
    list of PhotoFace
    """
    boxes = np.asarray(boxes).reshape(-1, 4)
    if not len(boxes):
        return []
    order = column_indices(model.columns, KEYPOINT_COLUMNS)
    mirror_sum = model.card.get("flip_mirror_sum_px")
    if flip_average and mirror_sum is not None:
        predict = partial(predict_pixels_flip_averaged, columns=model.columns, mirror_sum=mirror_sum)
    else:
        predict = predict_pixels
    first = [crop_for_box(box) for box in boxes]
    crops = list(first)
    for step in range(refine_steps + 1):
        if step == refine_steps and windows is not None:
            # --refine gives the last keypoints itself: no plain pass to throw away
            points = [refine_keypoints(gray, c, windows, model.columns) for c in crops]
            break
        with _one_thread():
            pixels = predict(model.module, cut_faces(gray, crops))[:, order].reshape(-1, len(KEYPOINTS), 2)
        points = [to_photo(p, c) for p, c in zip(pixels, crops)]
        if step == refine_steps:
            break
        refined = [crop_for_keypoints(p) for p in points]
        crops = [r if refine_ok(f, r) else c for f, r, c in zip(first, refined, crops)]
    return [
        PhotoFace(tuple(int(v) for v in box), crop, clip_to_crop(p, crop)) for box, crop, p in zip(boxes, crops, points)
    ]


def predict_image(image, model, detector=None, draw=True, refine_steps=REFINE_STEPS, windows=None):
    """Faces and keypoints in a BGR photo already in memory: detect -> predict -> draw.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        BGR; drawn on (in place) when ``draw``.
    model : LoadedModel
    detector : FaceDetector, optional
        Made once and passed in when predicting many photos.
    draw : bool

    Returns
    -------
    list of PhotoFace
    """
    detector = detector or FaceDetector()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    faces = predict_faces(gray, detector.detect(gray), model, refine_steps, windows)
    if draw and faces:
        draw_faces(image, [f.box for f in faces], [f.keypoints for f in faces])
    return faces


def predict_file(path, model, detector=None, draw=True, windows=None):
    """One photo end to end: read -> detect -> predict -> draw (nothing is written).

    Parameters
    ----------
    path : str or Path
    model : LoadedModel
        From :func:`load_predictor_model`.
    detector : FaceDetector, optional
    draw : bool

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
    faces = predict_image(image, model, detector, draw=draw, windows=windows)
    return PhotoResult(path, faces, image, (image.shape[1], image.shape[0]))


def predict_photos(
    photo_paths, model=None, out_dir=paths.RESULTS_DIR, on_result=None, refine=False, images=True, json=False
):
    """Predict every photo in files and folders, and write the results.

    Writes to ``out_dir``: an annotated JPEG copy of each photo read,
    ``keypoints.csv`` (one row per face) and ``index.html`` (every result).

    Parameters
    ----------
    photo_paths : iterable of str or Path
        Image files and folders (searched recursively).
    model : LoadedModel, str, Path or None
        None: the shipped model (``paths.DEFAULT_MODEL``).
    out_dir : str or Path
    on_result : callable, optional
        Called with each :class:`PhotoResult` as it is done (for progress and messages).
    refine : bool
        Average each face's keypoints over the fully-convolutional windows within 8 px of its crop
        (``conv`` models only). Off by default: it raised the NME on the 24 labelled photos
        (see :mod:`keypoints.predict.refine`).
    images : bool
        Write the annotated photos, the face crops and ``index.html``; False writes data only.
    json : bool
        Also write ``results.json`` (see :func:`keypoints.predict.outputs.results_document`).

    Returns
    -------
    PredictionSummary

    Raises
    ------
    NoPhotosError
        The paths hold no photos.
    ModelFileError
        The model cannot be loaded.
    ConversionError
        ``refine`` with a model that has no fully-convolutional form.
    """
    from keypoints.predict.outputs import (
        model_summary,
        result_names,
        write_csv,
        write_html,
        write_json,
        write_photo_images,
    )

    out_dir = Path(out_dir)
    photos, missing = find_photos(photo_paths, exclude=[out_dir])
    if not photos:
        where = ", ".join(str(p) for p in photo_paths) or "(no paths given)"
        extra = f" ({', '.join(str(p) for p in missing)}: no such file or folder)" if missing else ""
        raise NoPhotosError(
            f"no photos in {where}{extra}. Give image files ("
            ".jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff) or folders that hold them."
        )
    model = load_predictor_model(model)
    windows = fully_convolutional_model(model) if refine else None  # refused before any photo
    detector = FaceDetector()
    out_dir.mkdir(parents=True, exist_ok=True)
    names = result_names(photos)
    results = [PhotoResult(path, error=f"{path}: no such file or folder") for path in missing]
    for result in results:
        if on_result:
            on_result(result)
    for path in photos:
        result = predict_file(path, model, detector, draw=False, windows=windows)
        if result.image is not None and images:
            write_photo_images(result, out_dir, names[path])  # the annotated copy and the face crops
        result.image = None  # a folder of large photos would not fit in memory
        results.append(result)
        if on_result:
            on_result(result)
    summary = PredictionSummary(results, out_dir, out_dir / "keypoints.csv", out_dir / "index.html" if images else None)
    write_csv(summary.csv_path, results)
    about = model_summary(model, detector)
    if json:
        summary.json_path = write_json(out_dir / "results.json", results, about)
    if images:
        links = ["keypoints.csv", "results.json"] if json else ["keypoints.csv"]
        write_html(summary.html_path, results, about, links)
    return summary


@contextmanager
def _one_thread():
    """Run PyTorch on one thread inside the block, then restore the setting.

    A photo's few faces are too little work to share out, and on a busy
    machine the waiting threads cost far more than they bring: one face,
    three passes, on 2 cores that other jobs kept busy took 11 ms on one
    thread and 1100 ms on two (16 faces: 168 ms against 1520 ms).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _reason(result):
    """The part of an error message after the file name."""
    prefix = f"{result.path}: "
    return result.error[len(prefix) :] if result.error.startswith(prefix) else result.error
