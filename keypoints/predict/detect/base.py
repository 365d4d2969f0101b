"""What every detector answers with: :class:`Detections`, and the reduced or enlarged copy a detector searches."""

from typing import NamedTuple

import cv2
import numpy as np

LANDMARKS = ("right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner")
"""The five landmarks, in the order of ``Detections.landmarks``; right and left
are the person's, as in the Kaggle names (the right eye is on the image's left)."""


class Detections(NamedTuple):
    """The faces a detector found in one photo, largest first.

    Attributes
    ----------
    boxes : ndarray of float64, shape (N, 4)
        ``x, y, w, h`` in the photo's pixels.
    scores : ndarray of float64, shape (N,)
        The detector's confidence in [0, 1]; NaN for a detector without one (Haar).
    landmarks : ndarray of float64, shape (N, 5, 2), or None
        ``LANDMARKS`` in photo pixels; None for a detector without them (Haar).
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray = None

    def __len__(self):
        return len(self.boxes)

    def take(self, keep):
        """The detections selected by a boolean mask or an index array (N,)."""
        landmarks = None if self.landmarks is None else self.landmarks[keep]
        return Detections(self.boxes[keep], self.scores[keep], landmarks)


def no_detections(with_landmarks):
    """Empty :class:`Detections`."""
    return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)) if with_landmarks else None)


def as_detections(found):
    """:class:`Detections` from a detector's answer; a bare (N, 4) box array gets NaN scores, no landmarks."""
    if isinstance(found, Detections):
        return found
    boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4)
    return Detections(boxes, np.full(len(boxes), np.nan), None)


def search_copy(image, side, max_upscale):
    """The copy of a photo a detector searches, and its scale.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W) or (H, W, 3)
    side : int
        The copy's longer side (a small photo is enlarged at most ``max_upscale`` times).
    max_upscale : float

    Returns
    -------
    copy : ndarray of uint8
    scale : ndarray of float64, shape (2,)
        Copy pixels per photo pixel, x and y (a pixel edge at ``e`` in the copy is at ``e / scale`` in the photo).
    """
    height, width = image.shape[:2]
    factor = min(max_upscale, side / max(height, width))
    if factor == 1.0:
        return image, np.ones(2)
    size = (max(round(width * factor), 1), max(round(height * factor), 1))
    # INTER_AREA averages when shrinking (no aliasing); it enlarges poorly, where linear is right
    how = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=how), np.array([size[0] / width, size[1] / height])
