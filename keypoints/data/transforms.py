"""Scaling and flipping, each in a tested pair: a function and its inverse.

Pixels go to [0, 1] for the network, keypoints to [-1, 1] by ``(k - 48) / 48``
(the centre of the 96x96 frame maps to 0). A horizontal flip mirrors x and
swaps each left keypoint with its right twin, so a flipped face is still
labelled correctly: the subject's left eye of the flipped face is the mirror
image of the right eye of the original.

Coordinates follow OpenCV: pixel column ``i`` is centred on x = i, so
reversing the columns maps x to ``95 - x`` (:data:`MIRROR_SUM`), not
``96 - x``. The labels of the real-face data fit another axis
(:data:`REAL_FACES_MIRROR_SUM`); flipping about the wrong one biases x.
"""

import numpy as np

from keypoints.data.schema import IMAGE_SIZE, column_indices, mirror_name

HALF = IMAGE_SIZE / 2
"""48: the centre of the frame, and the scale that maps its half-width to 1."""

MIRROR_SUM = IMAGE_SIZE - 1
"""x + mirrored x, in pixels: reversing 96 columns sends pixel 0 to 95.
Exact for keypoints in OpenCV's convention (the synthetic faces)."""

REAL_FACES_MIRROR_SUM = 97.0
"""x + mirrored x that fits the labels of the real-face data: where a network trained without flips puts
the mirrored faces' keypoints (see docs/decisions/0008-the-mirror-axis-of-the-real-face-labels.md)."""


def scale_images(images):
    """Pixels 0-255 to float32 in [0, 1]; any shape, e.g. (N, 1, 96, 96)."""
    return np.asarray(images, dtype=np.float32) / np.float32(255)


def unscale_images(scaled):
    """Inverse of :func:`scale_images`: float in [0, 1] to uint8 0-255."""
    return np.clip(np.rint(np.asarray(scaled) * 255), 0, 255).astype(np.uint8)


def scale_keypoints(keypoints):
    """Pixels in the 96x96 frame to [-1, 1]: ``(k - 48) / 48``; NaN stays NaN. Shape (N, K) kept."""
    return (np.asarray(keypoints, dtype=np.float32) - np.float32(HALF)) / np.float32(HALF)


def unscale_keypoints(scaled):
    """Inverse of :func:`scale_keypoints`: ``k * 48 + 48``."""
    return np.asarray(scaled, dtype=np.float32) * np.float32(HALF) + np.float32(HALF)


def flip_permutation(columns):
    """Index that reorders keypoint columns so each left column takes its right twin's place.

    Parameters
    ----------
    columns : sequence of str
        Keypoint column names, e.g. ``KEYPOINT_COLUMNS``.

    Returns
    -------
    ndarray of int64, shape (K,)
        ``flipped[:, i] = keypoints[:, perm[i]]``; an involution.
    """
    return np.array(column_indices(columns, [mirror_name(c) for c in columns]), dtype=np.int64)


def scaled_mirror_sum(mirror_sum=MIRROR_SUM):
    """x + mirrored x for keypoints scaled to [-1, 1]: ``(c - 96) / 48``."""
    return float(scale_keypoints(mirror_sum) + scale_keypoints(0))


def x_columns(columns):
    """ndarray of bool, shape (K,): which columns are x coordinates."""
    return np.array([c.endswith("_x") for c in columns])


def flip_horizontal(images, keypoints, columns, scaled=True, mirror_sum=MIRROR_SUM):
    """Mirror faces left-right and relabel their keypoints.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
    keypoints : ndarray, shape (N, K)
        In [-1, 1] when ``scaled``, else in pixels (x becomes ``mirror_sum - x``).
    columns : sequence of str, length K
    scaled : bool
    mirror_sum : float
        x + mirrored x in pixels: 95 for OpenCV's convention.

    Returns
    -------
    tuple of ndarray
        Flipped images (N, C, H, W) and keypoints (N, K). Flipping twice gives the input back.
    """
    flipped = np.asarray(keypoints)[:, flip_permutation(columns)].copy()
    is_x = x_columns(columns)
    if scaled:
        mirror_sum = scaled_mirror_sum(mirror_sum)
    flipped[:, is_x] = mirror_sum - flipped[:, is_x]
    return np.asarray(images)[..., ::-1].copy(), flipped
