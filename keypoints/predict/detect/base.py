"""The interface every detector keeps (:class:`FaceDetector`), what it answers with (:class:`Detections`),
and the reduced or enlarged copy a detector searches."""

from abc import ABC, abstractmethod
from typing import NamedTuple

import cv2
import numpy as np

from keypoints.errors import DetectorError
from keypoints.guards import MAX_UPSAMPLE

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
    low : ndarray of bool, shape (N,), or None
        Scored under the detector's ``min_score`` (only asked-for faces, ``keep_low_score``, are such);
        None: none is.
    all_turns : bool
        Every turned copy the detector has was searched (True for a detector without turned copies);
        False when a detector that turns its search (YuNet) trusted its upright copy alone.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray = None
    low: np.ndarray = None
    all_turns: bool = True

    def __len__(self):
        return len(self.boxes)

    @property
    def low_scores(self):
        """Which faces are scored under the detector's ``min_score``, (N,) bool (all False when unknown)."""
        return np.zeros(len(self.boxes), bool) if self.low is None else np.asarray(self.low, bool)

    def take(self, keep):
        """The detections selected by a boolean mask or an index array (N,)."""
        landmarks = None if self.landmarks is None else self.landmarks[keep]
        low = None if self.low is None else self.low[keep]
        return Detections(self.boxes[keep], self.scores[keep], landmarks, low, self.all_turns)


class FaceDetector(ABC):
    """What every face detector is: a ``name``, a ``min_score``, and :meth:`detect`, which applies it.

    A detector class implements :meth:`find` (every face it reports); :meth:`detect` leaves out the
    faces scored under ``min_score``, or keeps them marked ``low``, so callers never filter.

    Attributes
    ----------
    name : str
        As :func:`keypoints.predict.detect.make_detector` knows it.
    min_score : float or None
        Faces scored under it are low; None (or a detector that gives no score) keeps every face.
    """

    name = None
    min_score = None
    turnable = False  # find() takes every_turn and quarter_turns: it can search turned copies on request

    @abstractmethod
    def find(self, image):
        """Every face the detector reports in a photo, scored or not (:class:`Detections`, largest first).

        Parameters
        ----------
        image : ndarray of uint8, shape (H, W, 3) BGR or (H, W) gray
        """

    def copy(self):
        """A detector with the same settings that another thread may run at the same time as this one.

        This one itself by default, which is right for a detector that keeps nothing between calls; one that
        holds an OpenCV object (whose calls change its state) makes a copy with an object of its own.
        """
        return self

    def detect(self, image, keep_low_score=False, every_turn=False, quarter_turns=False):
        """The faces in a photo, the detector's own threshold applied.

        Parameters
        ----------
        image : ndarray of uint8, shape (H, W, 3) BGR or (H, W) gray
        keep_low_score : bool
            Keep the faces scored under ``min_score``, marked in ``Detections.low``; by default they are left out.
        every_turn : bool
            Search every turned copy, whatever the upright one found (detectors that are ``turnable``).
        quarter_turns : bool
            With ``every_turn``, the copies turned a quarter and a half round instead (a photo on its side or upside
            down, searched after its usual copies).

        Returns
        -------
        Detections
            Largest first, with ``low`` set.
        """
        if every_turn and self.turnable:
            found = self.find(image, every_turn=True, quarter_turns=quarter_turns)
        else:
            found = self.find(image)
        low = np.zeros(len(found), bool) if self.min_score is None else found.scores < self.min_score  # NaN: not low
        found = Detections(found.boxes, found.scores, found.landmarks, low, found.all_turns)
        return found if keep_low_score else found.take(~low)


def no_detections(with_landmarks):
    """Empty :class:`Detections`."""
    return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)) if with_landmarks else None, np.zeros(0, bool))


def as_detections(found):
    """:class:`Detections` from a detector's answer; a bare (N, 4) box array gets NaN scores, no landmarks."""
    if isinstance(found, Detections):
        return found
    boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4)
    return Detections(boxes, np.full(len(boxes), np.nan), None)


def check_upsample(upsample):
    """``upsample`` as an int from 1 to ``MAX_UPSAMPLE``.

    Raises
    ------
    keypoints.errors.DetectorError
        Anything else.
    """
    if isinstance(upsample, bool) or not isinstance(upsample, (int, np.integer)) or not 1 <= upsample <= MAX_UPSAMPLE:
        raise DetectorError(f"upsample must be a whole number from 1 to {MAX_UPSAMPLE}, got {upsample!r}")
    return int(upsample)


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
