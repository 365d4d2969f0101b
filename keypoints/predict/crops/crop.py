"""Cutting faces out of photos the way the training faces were framed, and mapping keypoints back.

A crop is a square of ``side`` photo pixels whose top-left pixel is
``(x0, y0)``, resized to 96x96. With OpenCV's pixel-centre convention (pixel
``i`` is centred on ``i``, the same for the photo and the crop), ``cv2.resize``
maps crop coordinate ``u`` to photo coordinate::

    x = x0 + (u + 0.5) * side / 96 - 0.5

:func:`to_photo` and :func:`to_crop` are this map and its inverse, exactly.
"""

from typing import NamedTuple

import cv2
import numpy as np

from keypoints.data.schema import IMAGE_SIZE

# The framing measured on 24 labelled photo frames: the crop that puts their true keypoints on
# MEAN_KEYPOINTS, against the Haar box; see docs/decisions/0023-first-crop-1-08-times-the-haar-box.md.
CROP_SCALE = 1.08
"""Side of the first crop / side of the Haar box: the training faces' framing, measured (see above)."""

CROP_SHIFT_X = 0.01
"""Crop centre minus Haar box centre, in box widths, x (measured, see above)."""

CROP_SHIFT_Y = 0.0
"""The same for y (measured, see above)."""

MEAN_KEYPOINTS = np.array(
    [
        [64.37, 38.68],
        [31.21, 39.02],
        [57.84, 39.00],
        [70.54, 38.36],
        [37.61, 39.25],
        [24.98, 38.76],
        [57.29, 27.92],
        [77.39, 29.91],
        [38.04, 28.18],
        [17.36, 30.50],
        [48.88, 58.56],
        [61.80, 75.49],
        [34.83, 75.77],
        [48.81, 71.56],
        [48.96, 82.47],
    ],
    dtype=np.float64,
)
"""(15, 2): mean keypoints of the 3378 training faces (np.nanmean of the
stand-in for Kaggle's training.csv, which was framed to fit Kaggle's means),
in ``KEYPOINTS`` order: where the network expects a face's keypoints."""

REFINE_LIMITS = (0.67, 1.5, 0.3)
"""A refined crop is kept only within these factors of the first crop's side
and this fraction of its side from its centre; beyond, the first prediction
was not a face the network could read, and the first crop stays."""


class Crop(NamedTuple):
    """A square cut from a photo: top-left pixel ``(x0, y0)``, ``side`` pixels."""

    x0: int
    y0: int
    side: int


def crop_for_box(box):
    """The first crop of a face from its Haar box.

    Parameters
    ----------
    box : sequence of int
        ``x, y, w, h`` in photo pixels.

    Returns
    -------
    Crop
    """
    x, y, w, h = (float(v) for v in box)
    # edges of the box are at x - 0.5 and x + w - 0.5, so its centre is at x - 0.5 + w / 2
    centre_x = x - 0.5 + w / 2 + CROP_SHIFT_X * w
    centre_y = y - 0.5 + h / 2 + CROP_SHIFT_Y * w
    return _square(centre_x, centre_y, CROP_SCALE * w)


def crop_for_keypoints(keypoints):
    """The crop that puts keypoints (in photo pixels) nearest the mean training keypoints.

    Least squares over scale and shift, no rotation, as the training faces were framed.

    Parameters
    ----------
    keypoints : ndarray, shape (15, 2)

    Returns
    -------
    Crop
    """
    points = np.asarray(keypoints, dtype=np.float64)
    p_mean, m_mean = points.mean(axis=0), MEAN_KEYPOINTS.mean(axis=0)
    spread = ((points - p_mean) ** 2).sum()
    scale = ((points - p_mean) * (MEAN_KEYPOINTS - m_mean)).sum() / spread  # crop px per photo px
    side = IMAGE_SIZE / scale
    # the photo point that lands on the crop's centre (47.5, 47.5)
    centre = p_mean + (IMAGE_SIZE / 2 - 0.5 - m_mean) / scale
    return _square(centre[0], centre[1], side)


def refine_ok(first, refined):
    """Whether a refined crop stays within ``REFINE_LIMITS`` of the first one."""
    low, high, shift = REFINE_LIMITS
    moved = np.hypot(
        refined.x0 + refined.side / 2 - first.x0 - first.side / 2,
        refined.y0 + refined.side / 2 - first.y0 - first.side / 2,
    )
    return low * first.side <= refined.side <= high * first.side and moved <= shift * first.side


def _square(centre_x, centre_y, side):
    side = max(int(round(side)), 1)
    # the square's left edge is at centre - side / 2, and pixel x0's left edge at x0 - 0.5
    return Crop(int(round(centre_x - side / 2 + 0.5)), int(round(centre_y - side / 2 + 0.5)), side)


def cut_faces(gray, crops, size=IMAGE_SIZE):
    """Faces cut from a gray photo, each resized to ``size`` x ``size`` (96x96 by default).

    Parts of a crop outside the photo repeat its edge pixels.

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
    crops : sequence of Crop
    size : int
        Side of the resized faces.

    Returns
    -------
    ndarray of uint8, shape (F, 1, size, size)
    """
    faces = np.empty((len(crops), 1, size, size), np.uint8)
    for i, crop in enumerate(crops):
        faces[i, 0] = cut_square(gray, crop, size)
    return faces


def cut_square(gray, crop, size=IMAGE_SIZE):
    """One square of a gray photo resized to ``size`` x ``size``; parts outside the photo repeat its edge pixels.

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
    crop : Crop
    size : int

    Returns
    -------
    ndarray of uint8, shape (size, size)
        A crop wholly outside the photo (a box at its edge, rounded) repeats the nearest edge pixels, as the
        parts outside of any crop do.
    """
    x0, y0, side = crop
    height, width = gray.shape
    left, top = max(x0, 0), max(y0, 0)
    right, bottom = min(x0 + side, width), min(y0 + side, height)
    if right <= left or bottom <= top:  # no pixel of the photo inside: copyMakeBorder has nothing to repeat
        rows = np.clip(np.arange(y0, y0 + side), 0, height - 1)
        square = gray[np.ix_(rows, np.clip(np.arange(x0, x0 + side), 0, width - 1))]
    else:
        square = cv2.copyMakeBorder(
            gray[top:bottom, left:right],
            top - y0,
            y0 + side - bottom,
            left - x0,
            x0 + side - right,
            cv2.BORDER_REPLICATE,
        )
    # INTER_AREA averages when shrinking (no aliasing); it enlarges poorly, where linear is right
    how = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=how)


def to_photo(keypoints, crop, size=IMAGE_SIZE):
    """Keypoints in a crop's frame (resized to ``size`` px, 96 by default) to photo pixels.

    Parameters
    ----------
    keypoints : ndarray, shape (..., 2)
        ``x, y`` pairs in the crop.
    crop : Crop
    size : int
        Side of the resized crop the keypoints are in.

    Returns
    -------
    ndarray of float64, shape (..., 2)
    """
    x0, y0, side = crop
    points = np.asarray(keypoints, dtype=np.float64)
    return (points + 0.5) * (side / size) - 0.5 + np.array([x0, y0], dtype=np.float64)


def to_crop(points, crop, size=IMAGE_SIZE):
    """Inverse of :func:`to_photo`: photo pixels (..., 2) to the crop's frame of ``size`` px."""
    x0, y0, side = crop
    points = np.asarray(points, dtype=np.float64)
    return (points - np.array([x0, y0], dtype=np.float64) + 0.5) * (size / side) - 0.5


def clip_to_crop(points, crop):
    """Photo points (..., 2) clipped to the crop's square (its outer pixel edges)."""
    x0, y0, side = crop
    low = np.array([x0, y0], dtype=np.float64) - 0.5
    return np.clip(points, low, low + side)
