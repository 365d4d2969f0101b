"""OpenCV's frontal-face Haar cascade (``--detector haar``): boxes, no score, no landmarks."""

import copy
from pathlib import Path

import cv2
import numpy as np

from keypoints.errors import KeypointsError
from keypoints.predict.detect.base import Detections, FaceDetector, check_upsample, search_copy

CASCADE_FILE = "haarcascade_frontalface_default.xml"
"""The cascade, from the folder ``cv2.data.haarcascades`` of opencv-python."""

DETECT_SIDE = 1280
"""Photos are searched on a copy resized so that the longer side is this long
(``MAX_UPSCALE`` at most): small photos enlarged so the cascade's 24-px window
finds faces down to about 12-15 px of the photo, large ones reduced so the
search costs about the same for any photo (see docs/decisions/0022-the-haar-cascades-search-size.md)."""

MAX_UPSCALE = 2.0
"""The most a small photo is enlarged for the search."""

SCALE_FACTOR = 1.1
"""Step between the window sizes the cascade tries (OpenCV's default)."""

MIN_NEIGHBORS = 5
"""Overlapping hits needed to keep a face; OpenCV's default 3 adds false faces
(see docs/decisions/0022-the-haar-cascades-search-size.md)."""

MAX_OVERLAP = 0.5
"""A box that shares more than this fraction of its area with a larger box is
dropped: the cascade sometimes reports one face twice, shifted by half a face."""

MIN_FACE = 24
"""Smallest face searched, in pixels of the resized copy: the cascade's own window."""

MIN_FACE_PHOTO = 20
"""Smallest face kept, in the photo's own pixels. Searched at 2x, the cascade
also fires on 12-20 px textures (a zip on the astronaut sample); faces that
small carry too little detail for 15 keypoints anyway."""


class HaarDetector(FaceDetector):
    """OpenCV's Haar cascade, loaded once, with the search settings above.

    Parameters
    ----------
    side : int
        Longer side of the copy searched (see ``DETECT_SIDE``).
    min_neighbors : int
    min_face : int
        Smallest face kept, photo pixels (see ``MIN_FACE_PHOTO``).
    min_score : float or None
        Kept for the common interface; the cascade gives no score, so every face passes.
    upsample : int
        Search a copy ``upsample`` times larger, as for YuNet; ``min_face`` shrinks by as much.
    """

    name = "haar"

    def __init__(
        self, side=DETECT_SIDE, min_neighbors=MIN_NEIGHBORS, min_face=MIN_FACE_PHOTO, min_score=None, upsample=1
    ):
        self.cascade = _load_cascade()
        self.upsample = check_upsample(upsample)
        self.side = side * self.upsample
        self.min_neighbors = min_neighbors
        self.min_face = min_face / self.upsample
        self.min_score = min_score

    def copy(self):
        """The same settings with a cascade of its own."""
        twin = copy.copy(self)
        twin.cascade = _load_cascade()
        return twin

    def find(self, image):
        """The faces in a photo (the cascade gives no score, so :meth:`detect` keeps them all).

        Parameters
        ----------
        image : ndarray of uint8, shape (H, W, 3) BGR or (H, W) gray

        Returns
        -------
        Detections
            Square boxes (``w == h``, whole pixels), largest first; scores NaN; no landmarks.
        """
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        search, scale = search_copy(gray, self.side, MAX_UPSCALE * self.upsample)
        smallest = max(MIN_FACE, int(np.ceil(self.min_face * scale[0])))
        boxes = self.cascade.detectMultiScale(
            search, scaleFactor=SCALE_FACTOR, minNeighbors=self.min_neighbors, minSize=(smallest, smallest)
        )
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        boxes = np.rint(boxes / np.tile(scale, 2)).astype(np.int64)
        boxes[:, 3] = boxes[:, 2]  # square, as the cascade's boxes are before rounding
        boxes = drop_overlaps(boxes[np.argsort(-boxes[:, 2], kind="stable")]).astype(np.float64)
        return Detections(boxes, np.full(len(boxes), np.nan), None)


def _load_cascade():
    path = Path(cv2.data.haarcascades) / CASCADE_FILE
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise KeypointsError(
            f"{path}: OpenCV's face cascade could not be loaded; reinstall opencv-python-headless (`make setup`)"
        )
    return cascade


def drop_overlaps(boxes, max_overlap=MAX_OVERLAP):
    """Boxes (F, 4), largest first, without those covered more than ``max_overlap`` by a larger kept one."""
    kept = []
    for box in boxes:
        x, y, w, h = box
        covered = any(
            max(0, min(x + w, kx + kw) - max(x, kx)) * max(0, min(y + h, ky + kh) - max(y, ky)) > max_overlap * w * h
            for kx, ky, kw, kh in kept
        )
        if not covered:
            kept.append(box)
    return np.array(kept, dtype=np.int64).reshape(-1, 4)
