"""Measuring the predictor on labelled photos: faces found, NME, and how well the confidence ranks faces.

NME is the mean distance between predicted and true keypoints divided by the
distance between the true eye centres (inter-ocular), per photo, then averaged.

:func:`rotation_table` is the measurement of docs/decisions/0014-rotated-photos-faces-found-and-nme.md
(``tools/measure_detection.py`` prints it).
"""

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from keypoints.data.schema import IMAGE_SIZE, KEYPOINTS
from keypoints.measure.labelled import labelled_face, labelled_photos
from keypoints.measure.metrics import nme
from keypoints.predict.crops.framing import labels_in_convention
from keypoints.predict.detect import make_detector
from keypoints.predict.options import ALIGN, PredictOptions
from keypoints.predict.photo.pipeline import REFINE_STEPS, search_faces

ANGLES = (0, 15, 30, 45, 60)
"""Degrees the labelled photos are turned by in :func:`rotation_table`."""

CANVAS = 2.0
"""A turned photo is pasted at the centre of a grey canvas this many times its longer side."""


@dataclass
class PhotoScore:
    """One labelled face: whether it was found, the NME there, and the confidence figures (NaN when not found).

    Attributes
    ----------
    file : str
    found : bool
    nme : float
        Over the keypoints the labels hold (:func:`keypoints.measure.metrics.nme`).
    error_px : float
        True mean keypoint error, photo pixels (the same keypoints).
    estimated_px : float
        The predictor's estimate of it (:mod:`keypoints.predict.estimates.confidence`).
    score : float
        The detector's score.
    disagreement : float
        The face's and its mirror's predictions apart, 96-frame px (what the estimate is made from).
    frame_error : float
        The true error in the 96-frame px of the face's crop (what the estimate is calibrated against).
    frame_rmse : float
        The root mean square of the coordinate errors, in the same 96-frame px (the training RMSE's unit).
    """

    file: str
    found: bool
    nme: float
    error_px: float = float("nan")
    estimated_px: float = float("nan")
    score: float = float("nan")
    disagreement: float = float("nan")
    frame_error: float = float("nan")
    frame_rmse: float = float("nan")


def rotate_onto_canvas(image, keypoints, degrees, canvas=CANVAS):
    """A photo turned about its centre and pasted in the middle of a larger grey canvas, with its keypoints.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
    keypoints : ndarray, shape (15, 2)
    degrees : float
        Counter-clockwise as seen.
    canvas : float
        Canvas side over the photo's longer side.

    Returns
    -------
    image : ndarray of uint8, shape (S, S, 3)
    keypoints : ndarray of float64, shape (15, 2)
    """
    height, width = image.shape[:2]
    side = int(round(canvas * max(height, width)))
    turn = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
    turn[:, 2] += (side - 1) / 2 - np.array([(width - 1) / 2, (height - 1) / 2])
    mask = cv2.warpAffine(np.full((height, width), 255, np.uint8), turn, (side, side), flags=cv2.INTER_NEAREST)
    turned = cv2.warpAffine(image, turn, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = np.full_like(turned, 128)
    out[mask > 0] = turned[mask > 0]
    points = np.asarray(keypoints, dtype=np.float64) @ turn[:, :2].T + turn[:, 2]
    return out, points


def turned_on_diagonal(image, angle):
    """A photo on a square canvas of its diagonal (edges repeated), turned by ``angle`` degrees counter-clockwise.

    Returns
    -------
    copy : ndarray of uint8, shape (S, S) or (S, S, 3)
    matrix : ndarray of float64, shape (2, 3)
        Photo pixels to the turned canvas's pixels.
    """
    height, width = image.shape[:2]
    side = int(np.ceil(np.hypot(width, height)))
    top, left = (side - height) // 2, (side - width) // 2
    canvas = cv2.copyMakeBorder(image, top, side - height - top, left, side - width - left, cv2.BORDER_REPLICATE)
    rotation = cv2.getRotationMatrix2D((side / 2 - 0.5, side / 2 - 0.5), angle, 1.0)
    copy = cv2.warpAffine(canvas, rotation, (side, side), borderMode=cv2.BORDER_REPLICATE)
    matrix = rotation.copy()
    matrix[:, 2] += rotation[:, :2] @ np.array([left, top])  # photo pixels -> turned canvas pixels
    return copy, matrix


def found_labelled_faces(
    items, model, detector=None, align=ALIGN, refine_steps=REFINE_STEPS, windows=None, offset=None
):
    """Each labelled photo searched and predicted as the predictor does, and its labelled face.

    Parameters
    ----------
    items, model, detector, align, refine_steps, windows, offset
        As for :func:`score_faces`.

    Yields
    ------
    name : str
    gray : ndarray of uint8, shape (H, W)
    face : PhotoFace or None
        The (largest) detection whose box holds the centre of the true keypoints; None when none does.
    truth : ndarray of float64, shape (15, 2)
        Photo px, moved into the human convention in the face's crop when ``offset`` is given (and a face found).
    """
    detector = detector or make_detector()
    for name, image, truth in items:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        # the predictor's own search, turned copies included where they pay
        found, faces = search_faces(image, gray, model, detector, PredictOptions(align=align), windows, refine_steps)
        k = labelled_face(found, truth)
        face = None if k is None else faces[k]
        if face is not None and offset is not None:
            truth = labels_in_convention(truth, face.crop, offset)
        yield name, gray, face, truth


def score_faces(items, model, detector=None, align=ALIGN, refine_steps=REFINE_STEPS, windows=None, offset=None):
    """Find the labelled face in each photo and score its keypoints.

    Parameters
    ----------
    items : iterable of (str, ndarray (H, W, 3), ndarray (15, 2))
        As :func:`labelled_photos` gives them.
    model : LoadedModel
    detector : detector, optional
        From :func:`keypoints.predict.detect.make_detector` (default YuNet); the faces it leaves
        out (under its ``min_score``) are not counted as found, as in the predictor.
    align : bool
    refine_steps : int
    windows : FullyConvolutional, optional
        Score ``--refine`` (see :func:`keypoints.predict.photo.pipeline.predict_faces`).
    offset : ndarray, shape (15, 2), optional
        The labels' convention offset (:data:`keypoints.data.conventions.OFFSETS`): each face is scored against
        its labels moved into the human convention; default: against the labels as they are.

    Returns
    -------
    list of PhotoScore
        One per photo; the face scored is the (largest) detection whose box holds the centre of the true keypoints.
    """
    scores = []
    for name, _, face, truth in found_labelled_faces(items, model, detector, align, refine_steps, windows, offset):
        if face is None:
            scores.append(PhotoScore(name, False, float("nan")))
            continue
        present = np.isfinite(truth).all(axis=1)  # labels may leave keypoints out
        miss = face.keypoints[present] - truth[present]
        error = float(np.linalg.norm(miss, axis=1).mean())
        frame_error = error * IMAGE_SIZE / face.crop.side
        frame_rmse = float(np.sqrt(np.mean(miss**2))) * IMAGE_SIZE / face.crop.side
        scores.append(
            PhotoScore(
                name,
                True,
                nme(face.keypoints, truth),
                error,
                face.error_px,
                face.score,
                face.disagreement,
                frame_error,
                frame_rmse,
            )
        )
    return scores


def evaluate_photos(
    folder,
    model,
    labels="keypoints.csv",
    detector=None,
    refine_steps=REFINE_STEPS,
    windows=None,
    align=ALIGN,
    files=None,
    offset=None,
):
    """Find the labelled face in each photo of a folder and score its keypoints.

    Parameters
    ----------
    folder : str or Path
        Photos and a CSV ``labels`` with a ``file`` column and the 30 Kaggle
        columns in photo pixels.
    model : LoadedModel
    labels : str
    detector : detector, optional
        Default YuNet (:func:`keypoints.predict.detect.make_detector`).
    refine_steps : int
    windows : FullyConvolutional, optional
    align : bool
    files : collection of str, optional
        Only these photos.
    offset : ndarray, shape (15, 2), optional
        See :func:`score_faces`.

    Returns
    -------
    list of PhotoScore
        One per labelled photo (see :func:`score_faces`).
    """
    items = labelled_photos(folder, labels, files)
    return score_faces(items, model, detector, align, refine_steps, windows, offset)


def rotation_table(folder, model, angles=ANGLES, labels="keypoints.csv"):
    """Faces found and NME on labelled photos turned by each angle, for Haar and YuNet, with and without alignment.

    Parameters
    ----------
    folder : str or Path
    model : LoadedModel
    angles : sequence of float
        Degrees.
    labels : str

    Returns
    -------
    pandas.DataFrame
        One row per angle and set-up: ``degrees, detector, align, found, of, nme``
        (NME over the faces found).
    """
    photos = labelled_photos(folder, labels)
    detectors = {"haar": make_detector("haar"), "yunet": make_detector("yunet")}
    rows = []
    for degrees in angles:
        items = [(name, *rotate_onto_canvas(image, truth, degrees)) for name, image, truth in photos]
        for name, detector in detectors.items():
            for align in (False, True) if name == "yunet" else (False,):
                result = score_faces(items, model, detector, align=align)
                found = [s for s in result if s.found]
                mean = float(np.mean([s.nme for s in found])) if found else float("nan")
                rows.append((degrees, name, align, len(found), len(result), mean))
    return pd.DataFrame(rows, columns=["degrees", "detector", "align", "found", "of", "nme"])


def validation_items(images, keypoints, seed=0, max_degrees=30.0, canvas=CANVAS):
    """Validation faces as photos: each 96x96 face, its edges repeated, turned at random and pasted on a canvas.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, 1, 96, 96)
    keypoints : ndarray, shape (N, 30)
        Kaggle order; NaN where unlabelled.
    seed : int
    max_degrees : float
        Turned by a uniform angle within plus or minus this.

    Returns
    -------
    list of (str, ndarray of uint8 (S, S, 3), ndarray of float64 (15, 2))
    """
    rng = np.random.default_rng(seed)
    items = []
    for k, (image, points) in enumerate(zip(images, keypoints)):
        margin = IMAGE_SIZE // 2
        framed = cv2.copyMakeBorder(image[0], margin, margin, margin, margin, cv2.BORDER_REPLICATE)
        bgr = cv2.cvtColor(framed, cv2.COLOR_GRAY2BGR)
        photo, truth = rotate_onto_canvas(
            bgr, points.reshape(len(KEYPOINTS), 2) + margin, rng.uniform(-max_degrees, max_degrees), canvas
        )
        items.append((f"valid_{k}", photo, truth))
    return items


def degrade_photo(photo, rng):
    """A photo as a poor camera and a small, compressed file would give it, for measuring robustness.

    Made with OpenCV's own blur, resizing and JPEG codec, not with the training faces' appearance jitter
    (:mod:`keypoints.training.appearance`), so the measurement does not grade that code with itself. Every
    photo is darkened or brightened (gamma 0.5-2), loses contrast (to 50-100 %) and gets a light ramp across
    it; more than half are also blurred (sigma up to 2.5 px), shrunk (to 30-100 % and enlarged back), given
    sensor noise (sd up to 12 grey levels) or JPEG-compressed (quality 10-60).

    Parameters
    ----------
    photo : ndarray of uint8, shape (H, W, 3)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    height, width = photo.shape[:2]
    x = photo.astype(np.float32) / 255
    x = x ** np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    x = (x - x.mean()) * rng.uniform(0.5, 1.0) + x.mean()
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * np.linspace(-1, 1, width)[None, :] + np.sin(angle) * np.linspace(-1, 1, height)[:, None]
    x = x + rng.uniform(-0.2, 0.2) * ramp[:, :, None].astype(np.float32)
    x = np.clip(x * 255, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 2.5))
    if rng.random() < 0.5:
        factor = rng.uniform(0.3, 1.0)
        small = cv2.resize(
            x, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA
        )
        x = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        x = np.clip(x + rng.normal(0, rng.uniform(2, 12), x.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        _, encoded = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(10, 61))])
        x = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return x


def degraded_items(items, seed=0):
    """``items`` (name, photo, keypoints) with every photo degraded by :func:`degrade_photo`, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return [(name, degrade_photo(photo, rng), truth) for name, photo, truth in items]
