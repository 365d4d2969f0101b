"""Drawing faces' boxes and keypoints on a photo, sized to each face and coloured by part."""

import cv2
import numpy as np

from keypoints.data.schema import KEYPOINTS

PART_COLOURS = {  # BGR
    "eye": (255, 200, 0),  # light blue
    "eyebrow": (0, 165, 255),  # orange
    "nose": (0, 255, 255),  # yellow
    "mouth": (80, 60, 255),  # red
}
"""Colour of each part's keypoints; a keypoint's part is the first one named in it (eyebrow before eye)."""

BOX_COLOUR = (60, 220, 60)  # green

_SHIFT = 4  # OpenCV fixed point: draw at 1/16 px, so small faces' points sit where they were predicted


def part_of(name):
    """``eyebrow``, ``eye``, ``nose`` or ``mouth`` for a keypoint name such as ``left_eyebrow_inner_end``."""
    for part in ("eyebrow", "eye", "nose", "mouth"):
        if part in name:
            return part
    raise ValueError(f"keypoint {name!r} belongs to no part")


_COLOURS = [PART_COLOURS[part_of(name)] for name in KEYPOINTS]


def draw_faces(image, boxes, keypoints):
    """Draw each face's box and its 15 keypoints onto ``image`` (in place).

    Line widths and dot sizes grow with the face, so they read the same on a
    40-px face and a 2000-px one.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        BGR pixels, drawn on.
    boxes : ndarray, shape (F, 4)
        ``x, y, w, h`` in photo pixels.
    keypoints : ndarray, shape (F, 15, 2)
        In photo pixels, ``KEYPOINTS`` order.

    Returns
    -------
    ndarray
        ``image``.
    """
    for (x, y, w, h), points in zip(np.asarray(boxes), np.asarray(keypoints)):
        thickness = max(1, round(w / 80))
        radius = max(1.5, w / 60)
        cv2.rectangle(image, (int(x), int(y)), (int(x + w - 1), int(y + h - 1)), BOX_COLOUR, thickness, cv2.LINE_AA)
        for (px, py), colour in zip(points, _COLOURS):
            if not (np.isfinite(px) and np.isfinite(py)):
                continue
            centre = (int(round(px * (1 << _SHIFT))), int(round(py * (1 << _SHIFT))))
            r = int(round(radius * (1 << _SHIFT)))
            cv2.circle(
                image, centre, r + (1 << _SHIFT) * max(1, thickness // 2), (0, 0, 0), -1, cv2.LINE_AA, _SHIFT
            )  # a dark rim keeps the dot visible on light skin
            cv2.circle(image, centre, r, colour, -1, cv2.LINE_AA, _SHIFT)
    return image
