"""Synthetic faces in the exact Kaggle format, with exact keypoints.

Each face is drawn with OpenCV from a random canonical geometry (where the eyes,
brows, nose and mouth are and how big), a random pose and random lighting. The
15 keypoints are the same canonical points pushed through the same pose, so
they are exact, not a human's guess. That makes the generator a test bed: a
pipeline that cannot learn these faces has a bug, not a hard problem.

Coordinates are pixels with (0, 0) at the centre of the top-left pixel, x to the
right and y down (how OpenCV draws). "Left" is the subject's left, which is on
the image's right, as in the Kaggle file.

Where the features are is :mod:`.layout`; how they are drawn, :mod:`.drawing`.
"""

import operator
from pathlib import Path

import numpy as np

from keypoints.data.schema import IMAGE_SIZE, KEYPOINT_COLUMNS
from keypoints.data.synthetic.drawing import draw_face, random_look
from keypoints.data.synthetic.layout import canonical_keypoints, feature_shapes, on_face, random_geometry, random_pose
from keypoints.data.writer import write_kaggle_csv
from keypoints.errors import DataError

KAGGLE_KEPT_KEYPOINTS = ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")
"""The four keypoints that almost every row of the real Kaggle training file has
(7049 rows, only 2140 with all 15)."""


def generate_faces(n, seed=0):
    """Draw ``n`` random synthetic faces and their exact keypoints.

    Parameters
    ----------
    n : int
        Number of faces, at least 1.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same arrays.

    Returns
    -------
    images : ndarray of uint8, shape (n, 1, 96, 96)
        Gray faces.
    keypoints : ndarray of float32, shape (n, 30)
        Pixel coordinates in ``KEYPOINT_COLUMNS`` order, all inside the frame
        (at least 2 px from its edges).

    Notes
    -----
    Varied per face: the shape of every feature, the scale (eye centres
    29-44 px apart, mean 36 as in Kaggle), in-plane rotation (sd 7 degrees,
    at most 15), yaw (sd 5, at most 12 degrees), a shift of a few pixels,
    skin, hair and background gray levels, a light gradient, contrast,
    brightness, blur and Gaussian noise (sd 1.5-6 gray levels). Poses that
    would put a keypoint near the edge are moved towards the neutral pose.
    """
    n = _count(n)
    rng = np.random.default_rng(seed)
    images = np.empty((n, 1, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    keypoints = np.empty((n, len(KEYPOINT_COLUMNS)), np.float32)
    for i in range(n):
        images[i, 0], keypoints[i] = _one_face(rng)
    return images, keypoints


def drop_keypoints_like_kaggle(keypoints, fraction_incomplete, seed=0):
    """Blank keypoints the way the real Kaggle training file is incomplete.

    Parameters
    ----------
    keypoints : array of float, shape (N, 30)
        Keypoints in ``KEYPOINT_COLUMNS`` order.
    fraction_incomplete : float
        Fraction of rows, in [0, 1], that keep only ``KAGGLE_KEPT_KEYPOINTS``;
        their other 22 columns become NaN. The rows are chosen at random.
    seed : int
        Seed for the choice of rows.

    Returns
    -------
    ndarray of float, shape (N, 30)
        A copy; the input is not changed.
    """
    keypoints = np.asarray(keypoints)
    if keypoints.ndim != 2 or keypoints.shape[1] != len(KEYPOINT_COLUMNS):
        raise DataError(f"keypoints must have shape (N, {len(KEYPOINT_COLUMNS)}), not {keypoints.shape}")
    try:
        in_range = 0.0 <= float(fraction_incomplete) <= 1.0
    except (TypeError, ValueError):
        in_range = False
    if not in_range:
        raise DataError(f"fraction_incomplete must be a number in [0, 1], not {fraction_incomplete!r}")
    out = keypoints.astype(np.result_type(keypoints.dtype, np.float32), copy=True)
    n_incomplete = int(round(fraction_incomplete * len(out)))
    rows = np.random.default_rng(seed).choice(len(out), size=n_incomplete, replace=False)
    kept = {f"{name}_{axis}" for name in KAGGLE_KEPT_KEYPOINTS for axis in ("x", "y")}
    dropped = [j for j, column in enumerate(KEYPOINT_COLUMNS) if column not in kept]
    out[np.ix_(rows, dropped)] = np.nan
    return out


def write_synthetic_csv(path, n, seed=0, fraction_incomplete=0.0):
    """Generate ``n`` faces and write them as a Kaggle ``training.csv``.

    Parameters
    ----------
    path : str or Path
        Where to write (``.gz`` for gzip).
    n : int
        Number of faces.
    seed : int
        Seed of the faces and of the rows left incomplete.
    fraction_incomplete : float
        Fraction of rows that keep only the four usual keypoints
        (see :func:`drop_keypoints_like_kaggle`).

    Returns
    -------
    Path
        The path written.
    """
    images, keypoints = generate_faces(n, seed)
    keypoints = drop_keypoints_like_kaggle(keypoints, fraction_incomplete, seed)
    return write_kaggle_csv(Path(path), images, keypoints, KEYPOINT_COLUMNS)


def _count(n):
    try:
        n = operator.index(n)
    except TypeError:
        raise DataError(f"the number of faces must be an integer, not {n!r}") from None
    if n < 1:
        raise DataError(f"the number of faces must be at least 1, not {n}")
    return n


def _one_face(rng):
    g = random_geometry(rng)
    named = canonical_keypoints(g)
    pose, keypoints = random_pose(rng, g, named)
    look = random_look(rng)  # drawn after the pose: the same seed gives the same faces as before the split
    shapes = on_face(pose, feature_shapes(g, named, look["light_angle"]))
    return draw_face(g, pose, shapes, look), keypoints
