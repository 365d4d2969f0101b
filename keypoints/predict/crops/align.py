"""Upright faces: a crop rotated so the eye line is level, scaled and centred from the detector's landmarks.

An :class:`AlignedCrop` is a square of ``side`` photo pixels centred on
``(cx, cy)`` and turned by ``angle`` (radians, the eye line's angle in the photo,
y down), resampled to 96x96. A photo point ``p`` lands on the crop point::

    u = R(-angle) (p - c) * 96 / side + 47.5

and :func:`aligned_to_photo` is its exact inverse, ``p = c + R(angle) (u - 47.5) * side / 96``.
With ``angle == 0`` it is the same map as :mod:`keypoints.predict.crops.crop`'s squares.
"""

import math
from typing import NamedTuple

import cv2
import numpy as np

from keypoints.data.schema import IMAGE_SIZE
from keypoints.predict.crops.crop import MEAN_KEYPOINTS, REFINE_LIMITS

LANDMARK_TEMPLATE = np.array(
    [[30.53, 37.11], [61.98, 36.75], [46.23, 56.19], [34.09, 71.15], [59.54, 70.76]], dtype=np.float64
)
"""(5, 2): where YuNet puts its five landmarks (``LANDMARKS`` order) on the training faces, in the 96x96 frame: the mean
over the training faces it found (see docs/decisions/0015-aligned-crops-from-yunets-landmarks.md). Fitting a face's
landmarks to it frames the face as in training."""

_CENTRE = IMAGE_SIZE / 2 - 0.5  # the crop's centre in pixel coordinates (47.5)


class AlignedCrop(NamedTuple):
    """A turned square: centre ``(cx, cy)`` and ``side`` in photo pixels, ``angle`` in radians."""

    cx: float
    cy: float
    side: float
    angle: float


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _fit_scale_shift(points, template):
    """Scale ``s`` and centre offset so that ``s * (points - pm) + tm`` is nearest ``template`` (least squares)."""
    pm, tm = points.mean(axis=0), template.mean(axis=0)
    scale = ((points - pm) * (template - tm)).sum() / ((points - pm) ** 2).sum()
    # the point that lands on the crop centre
    return scale, pm + (_CENTRE - tm) / scale


def eye_angle(landmarks):
    """Angle of the line from the right eye to the left eye (radians, y down), from (5, 2) landmarks."""
    dx, dy = landmarks[1] - landmarks[0]
    return float(np.arctan2(dy, dx))


def crop_for_landmarks(landmarks, rotate=True, template=LANDMARK_TEMPLATE):
    """The aligned crop that puts five landmarks nearest ``template``.

    The eye line sets the angle (0 with ``rotate=False``); scale and centre are the
    least-squares fit, in the turned frame, of the landmarks to the template.

    Parameters
    ----------
    landmarks : ndarray, shape (5, 2)
        ``LANDMARKS`` order, photo pixels.
    rotate : bool

    Returns
    -------
    AlignedCrop
        Its side positive.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    angle = eye_angle(points) if rotate else 0.0
    upright = points @ _rotation(-angle).T
    scale, centre = _fit_scale_shift(upright, template)
    cx, cy = _rotation(angle) @ centre
    if scale < 0:
        # landmarks upside down about their eye line: the same cut is the crop turned by half a turn, with a
        # positive side (a negative one breaks what reads the side: the error estimate's log, the re-framing's limits)
        scale, angle = -scale, math.remainder(angle + math.pi, 2 * math.pi)
    return AlignedCrop(float(cx), float(cy), float(IMAGE_SIZE / scale), angle)


def reframe_on_keypoints(keypoints, crop):
    """The crop, at the same angle, that puts predicted keypoints nearest the mean training keypoints.

    Parameters
    ----------
    keypoints : ndarray, shape (15, 2)
        Photo pixels.
    crop : AlignedCrop
        Its angle is kept.

    Returns
    -------
    AlignedCrop
    """
    upright = np.asarray(keypoints, dtype=np.float64) @ _rotation(-crop.angle).T
    scale, centre = _fit_scale_shift(upright, MEAN_KEYPOINTS)
    cx, cy = _rotation(crop.angle) @ centre
    return AlignedCrop(float(cx), float(cy), float(IMAGE_SIZE / scale), crop.angle)


def reframe_ok(first, refined):
    """Whether a re-framed crop stays within ``REFINE_LIMITS`` of the first (side and centre)."""
    low, high, shift = REFINE_LIMITS
    moved = np.hypot(refined.cx - first.cx, refined.cy - first.cy)
    return low * first.side <= refined.side <= high * first.side and moved <= shift * first.side


def photo_to_aligned(points, crop):
    """Photo pixels (..., 2) to the crop's 96x96 frame."""
    points = np.asarray(points, dtype=np.float64)
    turned = (points - np.array([crop.cx, crop.cy])) @ _rotation(-crop.angle).T
    return turned * (IMAGE_SIZE / crop.side) + _CENTRE


def aligned_to_photo(points, crop):
    """The exact inverse of :func:`photo_to_aligned`: the crop's frame (..., 2) to photo pixels."""
    points = np.asarray(points, dtype=np.float64)
    turned = (points - _CENTRE) * (crop.side / IMAGE_SIZE)
    return turned @ _rotation(crop.angle).T + np.array([crop.cx, crop.cy])


def _affine(crop, size):
    """2x3 matrix taking photo pixels to a ``size`` x ``size`` image of the crop (OpenCV pixel centres)."""
    k = size / crop.side
    rot = _rotation(-crop.angle) * k
    centre = (size - 1) / 2
    shift = centre - rot @ np.array([crop.cx, crop.cy])
    return np.hstack([rot, shift[:, None]])


def cut_aligned(gray, crops):
    """96x96 upright faces cut from a gray photo; outside the photo its edge pixels repeat.

    A face larger than 96 px is first turned at its own size and then reduced with
    ``INTER_AREA`` (averaging, no aliasing); the two maps compose to :func:`photo_to_aligned`.

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
    crops : sequence of AlignedCrop

    Returns
    -------
    ndarray of uint8, shape (F, 1, 96, 96)
    """
    faces = np.empty((len(crops), 1, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for i, crop in enumerate(crops):
        size = max(IMAGE_SIZE, int(round(crop.side)))
        turned = cv2.warpAffine(
            gray, _affine(crop, size), (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        if size > IMAGE_SIZE:
            # pixel v of the turned square is pixel (v + 0.5) * 96 / size - 0.5 of the crop: same centre, same map
            turned = cv2.resize(turned, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
        faces[i, 0] = turned
    return faces


def clip_to_aligned(points, crop):
    """Photo points (..., 2) kept within the turned square (its outer pixel edges)."""
    inside = np.clip(photo_to_aligned(points, crop), -0.5, IMAGE_SIZE - 0.5)
    return aligned_to_photo(inside, crop)
