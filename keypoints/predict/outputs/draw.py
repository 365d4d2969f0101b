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

DOUBT_COLOUR = (40, 40, 255)  # red
"""Box of a face with a low detector score or a large estimated keypoint error: dashed, with the value written."""

_SHIFT = 4  # OpenCV fixed point: draw at 1/16 px, so small faces' points sit where they were predicted


def part_of(name):
    """``eyebrow``, ``eye``, ``nose`` or ``mouth`` for a keypoint name such as ``left_eyebrow_inner_end``."""
    for part in ("eyebrow", "eye", "nose", "mouth"):
        if part in name:
            return part
    raise ValueError(f"keypoint {name!r} belongs to no part")


_COLOURS = [PART_COLOURS[part_of(name)] for name in KEYPOINTS]


def draw_faces(image, boxes, keypoints, doubts=None):
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
    doubts : sequence of str or None, length F, optional
        For each face, None (a green box) or the reason to doubt it, such as ``"score 0.52"``:
        the box is then red and dashed, with the reason written above it.

    Returns
    -------
    ndarray
        ``image``.
    """
    doubts = [None] * len(boxes) if doubts is None else doubts
    for (x, y, w, h), points, doubt in zip(np.asarray(boxes), np.asarray(keypoints), doubts):
        thickness = max(1, round(w / 80))
        radius = max(1.5, w / 60)
        corners = (int(x), int(y)), (int(x + w - 1), int(y + h - 1))
        if doubt is None:
            cv2.rectangle(image, *corners, BOX_COLOUR, thickness, cv2.LINE_AA)
        else:
            _dashed_box(image, *corners, DOUBT_COLOUR, max(2, thickness))
            _label(image, doubt, corners[0], max(w, 60))
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


def draw_photo_faces(image, faces):
    """Draw :class:`~keypoints.predict.photo.pipeline.PhotoFace` results; doubtful ones dashed and red, with the value.

    A face is doubtful when its detector score is under the threshold (``low_score``) or its
    estimated keypoint error is large (``large_error``); the label says which, with the figure.
    """
    doubts = []
    for face in faces:
        reasons = []
        if face.low_score:
            reasons.append(f"score {face.score:.2f}")
        if face.large_error:
            reasons.append(f"error ~{face.error_px:.1f} px")
        doubts.append(", ".join(reasons) or None)
    return draw_faces(image, [f.box for f in faces], [f.keypoints for f in faces], doubts)


def _dashed_box(image, top_left, bottom_right, colour, thickness):
    """A rectangle of dashes about ten to a side."""
    (x0, y0), (x1, y1) = top_left, bottom_right
    dash = max(4, (x1 - x0) // 12)
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        for start in range(0, length, 2 * dash):
            end = min(start + dash, length)
            p = (a[0] + (b[0] - a[0]) * start // max(length, 1), a[1] + (b[1] - a[1]) * start // max(length, 1))
            q = (a[0] + (b[0] - a[0]) * end // max(length, 1), a[1] + (b[1] - a[1]) * end // max(length, 1))
            cv2.line(image, p, q, colour, thickness, cv2.LINE_AA)


def _label(image, text, top_left, width):
    """``text`` in white on red above (or, at the photo's top, inside) a box, sized to the box."""
    scale = float(np.clip(width / 220, 0.35, 2.0))
    thick = max(1, round(scale * 1.5))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = int(top_left[0]), int(top_left[1])
    y = y - 4 if y - th - base - 4 >= 0 else y + th + base + 4
    cv2.rectangle(image, (x, y - th - base), (x + tw + 4, y + base // 2), DOUBT_COLOUR, -1)
    cv2.putText(
        image, text, (x + 2, y - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA
    )
