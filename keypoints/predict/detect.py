"""Finding faces with OpenCV's frontal-face Haar cascade."""

from pathlib import Path

import cv2
import numpy as np

from keypoints.errors import KeypointsError

CASCADE_FILE = "haarcascade_frontalface_default.xml"
"""The cascade, from the folder ``cv2.data.haarcascades`` of opencv-python."""

DETECT_SIDE = 1280
"""Photos are searched on a copy resized so that the longer side is this long
(``MAX_UPSCALE`` at most), so the search costs about the same for any photo.

The cascade's smallest window is 24 px. Enlarging small photos finds smaller
faces: on the 24 test frames shrunk so the face is 30 px wide in a 640x480
photo, 23 of 24 were found searched at 2x against 19 of 24 at 1x (24 px wide:
21 against 14). Large photos are reduced: in a 4000x3000 photo faces are
searched down to 24 * 4000 / 1280 = 75 px wide (14 of 24 found at 75 px,
19 of 24 at 100 px)."""

MAX_UPSCALE = 2.0
"""The most a small photo is enlarged for the search."""

SCALE_FACTOR = 1.1
"""Step between the window sizes the cascade tries (OpenCV's default)."""

MIN_NEIGHBORS = 5
"""Overlapping hits needed to keep a face. 5 found exactly one face in each of
the 24 test frames; 3 (OpenCV's default) added a false face to one of them."""

MAX_OVERLAP = 0.5
"""A box that shares more than this fraction of its area with a larger box is
dropped: the cascade sometimes reports one face twice, shifted by half a face."""

MIN_FACE = 24
"""Smallest face searched, in pixels of the resized copy: the cascade's own window."""

MIN_FACE_PHOTO = 20
"""Smallest face kept, in the photo's own pixels. Searched at 2x, the cascade
also fires on 12-20 px textures (a zip on the astronaut sample); faces that
small carry too little detail for 15 keypoints anyway."""


class FaceDetector:
    """OpenCV's Haar cascade, loaded once, with the search settings above.

    Parameters
    ----------
    side : int
        Longer side of the copy searched (see ``DETECT_SIDE``).
    min_neighbors : int
    min_face : int
        Smallest face kept, photo pixels (see ``MIN_FACE_PHOTO``).
    """

    def __init__(self, side=DETECT_SIDE, min_neighbors=MIN_NEIGHBORS, min_face=MIN_FACE_PHOTO):
        path = Path(cv2.data.haarcascades) / CASCADE_FILE
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise KeypointsError(
                f"{path}: OpenCV's face cascade could not be loaded; reinstall opencv-python-headless (`make setup`)"
            )
        self.side = side
        self.min_neighbors = min_neighbors
        self.min_face = min_face

    def detect(self, gray):
        """Boxes of the faces in a gray photo.

        Parameters
        ----------
        gray : ndarray of uint8, shape (H, W)

        Returns
        -------
        ndarray of int64, shape (F, 4)
            ``x, y, w, h`` in the photo's pixels (``w == h``), largest face first.
        """
        height, width = gray.shape[:2]
        factor = min(MAX_UPSCALE, self.side / max(height, width))
        search, scale = gray, np.ones(4)
        if factor != 1.0:
            size = (max(round(width * factor), 1), max(round(height * factor), 1))
            how = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
            search = cv2.resize(gray, size, interpolation=how)
            # a pixel edge at e in the copy is at e / factor in the photo, per axis
            scale = np.array([size[0] / width, size[1] / height] * 2)
        smallest = max(MIN_FACE, int(np.ceil(self.min_face * factor)))
        boxes = self.cascade.detectMultiScale(
            search, scaleFactor=SCALE_FACTOR, minNeighbors=self.min_neighbors, minSize=(smallest, smallest)
        )
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        boxes = np.rint(boxes / scale).astype(np.int64)
        boxes[:, 3] = boxes[:, 2]  # square, as the cascade's boxes are before rounding
        return drop_overlaps(boxes[np.argsort(-boxes[:, 2], kind="stable")])


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
