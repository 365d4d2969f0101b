"""Label conventions: where each known labelled set puts its keypoints, against the human convention.

The product's convention is the one human annotators share: 300-W's iBUG-68 points, with each eye centre the centre of
the eye's outline (the mean of its six points), as a 68-point set gives the 15 Kaggle keypoints. The 68-point labels
behind the frames and the Kaggle stand-in sit off it on every keypoint; FG-NET and HELEN put an eye centre on the pupil
and place some points by their own markup's rules. A set's offset is its labels minus the human convention, per
keypoint, in the face's own frame (x along the eye line towards the subject's left, y down) and in units of the face's
eye distance; moving a set's labels takes the offset off each face
(docs/decisions/0083-label-conventions-the-human-one.md).

Nothing is moved unless asked: ``keypoints train --move-labels NAME ...`` moves the sets it names, and
``keypoints evaluate-photos --convention human`` scores against moved labels.
"""

import numpy as np

from keypoints.data.schema import KEYPOINTS
from keypoints.errors import DataError

_FRAMES = np.array(
    [
        [0.0569, 0.0243],
        [0.0209, 0.0123],
        [0.0489, 0.0146],
        [0.0619, 0.0146],
        [0.0244, 0.0086],
        [0.0183, -0.0033],
        [0.1495, -0.0283],
        [0.0550, -0.0099],
        [-0.0725, -0.0334],
        [0.0167, -0.0353],
        [0.0500, 0.0880],
        [0.0271, 0.0408],
        [0.0368, 0.0319],
        [0.0463, 0.0195],
        [0.0449, 0.0318],
    ]
)

OFFSETS = {
    "frames": _FRAMES,
    "training.csv.gz": _FRAMES,
    "fgnet": np.array(
        [
            [0.0051, -0.0241],
            [-0.0052, -0.0236],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0733, 0.0340],
            [-0.0187, -0.0143],
            [-0.0460, 0.0456],
            [0.0334, -0.0058],
            [0.0101, 0.0425],
            [-0.0163, -0.0083],
            [0.0226, -0.0058],
            [0.0, 0.0],
            [0.0, 0.0],
        ]
    ),
    "helen": np.array(
        [
            [-0.0133, -0.0339],
            [-0.0032, -0.0340],
            [-0.0150, -0.0313],
            [0.0028, -0.0175],
            [-0.0065, -0.0313],
            [-0.0258, -0.0179],
            [0.0389, 0.0296],
            [-0.0875, -0.0448],
            [-0.0645, 0.0269],
            [0.0574, -0.0385],
            [0.0, 0.0],
            [-0.0334, -0.0198],
            [0.0069, -0.0206],
            [-0.0092, -0.0404],
            [-0.0104, -0.0296],
        ]
    ),
    "mtfl": np.array(
        [
            [0.0127, -0.0179],
            [0.0113, -0.0154],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0104, 0.0453],
            [0.0045, -0.0101],
            [0.0192, -0.0106],
            [0.0, 0.0],
            [0.0, 0.0],
        ]
    ),
}
"""Set name (a photo folder's or a CSV file's name) -> (15, 2) offset from the human convention, ``KEYPOINTS``
order, over the eye distance, in the face's frame. ``frames`` and ``training.csv.gz`` (the Kaggle stand-in, the same
labels) move on every keypoint; ``fgnet`` and ``helen`` only on the keypoints (a point and its mirror image
together) that sit further from the convention than the instrument's own bias, the rest as drawn. Measured by
``tools/measure_human_offsets.py`` (dlib's 68-point predictor) and checked by ``tools/measure_conventions.py``.
``mtfl`` holds five keypoints (the rest are missing): each moves, measured by one instrument only, the shipped model
(which predicts the human convention): label minus its prediction on every face (docs/decisions/0087)."""

_TYPICAL_EYE_DISTANCE = 33.5
"""Crop pixels between the eye centres of a training face: the move of a face without both eye centres (rows of the
real Kaggle file miss them)."""


def known_sets():
    """The names of the sets whose offset is measured, sorted."""
    return sorted(OFFSETS)


def check_movable(names):
    """Refuse a set with no measured offset, naming the ones there are.

    Raises
    ------
    DataError
    """
    unknown = [name for name in names if name not in OFFSETS]
    if unknown:
        raise DataError(
            f"--move-labels: no measured offset for {', '.join(unknown)}; the sets with one are "
            f"{', '.join(known_sets())} (a set of your own is trained on its labels as they are)"
        )


def eye_frames(points):
    """Each face's own frame: the unit vectors along its eye line and down the face, and its eye distance.

    Parameters
    ----------
    points : ndarray, shape (N, 15, 2)
        Keypoints in any pixels; a face without both eye centres (NaN) gets a level eye line of a typical size.

    Returns
    -------
    along, down : ndarray of float64, shape (N, 2)
        From the right eye centre to the left one, and that turned a quarter clockwise (down in the image).
    distance : ndarray of float64, shape (N,)
    """
    points = np.asarray(points, dtype=np.float64)
    axis = points[:, 0] - points[:, 1]  # right eye centre -> left eye centre
    distance = np.linalg.norm(axis, axis=1)
    missing = ~np.isfinite(distance) | (distance <= 0)
    if missing.any():
        distance[missing] = np.mean(distance[~missing]) if (~missing).any() else _TYPICAL_EYE_DISTANCE
        axis[missing, 0], axis[missing, 1] = distance[missing], 0.0
    along = axis / distance[:, None]
    return along, np.stack([-along[:, 1], along[:, 0]], axis=1), distance


def in_face_frame(vectors, points):
    """Vectors in each face's own frame (:func:`eye_frames`), over its eye distance: the inverse of
    :func:`offsets_in_crop`.

    Parameters
    ----------
    vectors : ndarray, shape (N, 15, 2)
        Pixels (a residual, label minus prediction, for example).
    points : ndarray, shape (N, 15, 2)
        The keypoints whose eye line sets each face's frame.

    Returns
    -------
    ndarray of float64, shape (N, 15, 2)
    """
    along, down, distance = eye_frames(points)
    vectors = np.asarray(vectors, dtype=np.float64)
    framed = np.stack([np.einsum("nkd,nd->nk", vectors, along), np.einsum("nkd,nd->nk", vectors, down)], axis=2)
    return framed / distance[:, None, None]


def offsets_in_crop(points, offset):
    """A set's offset on each face, in the faces' pixels.

    Parameters
    ----------
    points : ndarray, shape (N, 15, 2)
        The labels, in an upright crop's (or any) pixels; NaN where missing.
    offset : ndarray, shape (15, 2)
        Over the eye distance, in the face's frame (:data:`OFFSETS`).

    Returns
    -------
    ndarray of float64, shape (N, 15, 2)
    """
    along, down, distance = eye_frames(points)
    offset = np.asarray(offset, dtype=np.float64)
    moves = offset[None, :, :1] * along[:, None, :] + offset[None, :, 1:] * down[:, None, :]
    return moves * distance[:, None, None]


def to_human_convention(keypoints, source):
    """Keypoints of a known set moved into the human convention.

    Parameters
    ----------
    keypoints : ndarray, shape (N, 15, 2)
        In the faces' pixels (upright crops, the CSV's 96x96 frames); NaN where missing, which stays missing.
    source : str
        The set's name (:data:`OFFSETS`).

    Returns
    -------
    ndarray of float64, shape (N, 15, 2)

    Raises
    ------
    DataError
        A shape other than (N, 15, 2), or a set with no measured offset.
    """
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (len(KEYPOINTS), 2):
        raise DataError(f"label conventions apply to (N, 15, 2) keypoints; got shape {points.shape}")
    check_movable([source])
    return points - offsets_in_crop(points, OFFSETS[source])
