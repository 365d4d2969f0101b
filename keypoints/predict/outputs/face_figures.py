"""The figures the results files and page give for each face, with their units, and the faces' reading order.

Per face: the detector's score (0 to 1), the estimated mean keypoint error in
photo pixels and as a share of the face's eye distance, and the head pose
(yaw, pitch, roll in degrees, :mod:`keypoints.predict.estimates.pose`). Faces are numbered
in reading order: rows from the top, each row from the left; a face joins a row
when its centre lies within half its height of the row's first face.
"""

import math

import cv2
import numpy as np

from keypoints.predict.estimates.pose import POSE_NAMES, head_pose

FIGURES = (
    ("score", "detector score {:.2f} (0 to 1)"),
    ("error_px", "estimated keypoint error {:.1f} px"),
    ("error_eye_share", "{:.0%} of the eye distance"),
    ("yaw", "head pose: yaw {:+.0f}°"),
    ("pitch", "pitch {:+.0f}°"),
    ("roll", "roll {:+.0f}°"),
)
"""Each figure's name (its CSV column and JSON field) and how the page writes it, with its unit."""

LINES = (("score",), ("error_px", "error_eye_share"), ("yaw", "pitch", "roll"))
"""The figures that share a line on the page."""

NUMBER_COLOUR = (255, 255, 255)
"""The face numbers drawn on the annotated photo: white on the box colour's dark outline."""


def reading_order(boxes):
    """The order in which a reader meets the faces: rows from the top, each row from the left.

    Parameters
    ----------
    boxes : ndarray, shape (F, 4)
        ``x, y, w, h``.

    Returns
    -------
    list of int
        Indices into ``boxes``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    left = sorted(range(len(boxes)), key=lambda i: (centres[i, 1], centres[i, 0]))
    order = []
    while left:
        first = left[0]
        row = [i for i in left if abs(centres[i, 1] - centres[first, 1]) <= boxes[first, 3] / 2]
        order += sorted(row, key=lambda i: centres[i, 0])
        left = [i for i in left if i not in row]
    return order


def numbered(faces):
    """``(number, face)`` pairs in reading order (numbers from 0): the one numbering of the CSV, JSON and page."""
    order = reading_order([face.box for face in faces])
    return [(number, faces[index]) for number, index in enumerate(order)]


def face_figures(face, size):
    """The figures of ``FIGURES`` one face carries, as ``{name: float}``; those it lacks (NaN) are left out.

    Parameters
    ----------
    face : PhotoFace or FrameFace
        With ``box`` and ``keypoints`` (15, 2); ``score`` and ``error_px`` when known.
    size : tuple of int or None
        ``(width, height)`` of the photo or frame, for the pose's camera; None leaves the pose out.
    """
    values = {"score": getattr(face, "score", math.nan), "error_px": getattr(face, "error_px", math.nan)}
    eyes = float(np.linalg.norm(np.asarray(face.keypoints[0]) - np.asarray(face.keypoints[1])))
    values["error_eye_share"] = values["error_px"] / eyes if eyes > 0 else math.nan
    pose = getattr(face, "pose", None)
    if pose is None and size is not None:
        pose = head_pose(face.keypoints, size)
    if pose is not None:
        values.update(zip(POSE_NAMES, (float(v) for v in pose)))
    return {name: float(v) for name, v in values.items() if v is not None and math.isfinite(float(v))}


def figures_html(figures):
    """The figures as the page's ``<li>`` lines, each with its unit (numbers only: nothing to escape)."""
    formats = dict(FIGURES)
    lines = [", ".join(formats[name].format(figures[name]) for name in line if name in figures) for line in LINES]
    return "".join(f"<li>{line}</li>" for line in lines if line)


def draw_numbers(image, boxes, numbers):
    """Write each face's number at its box's top-left corner, inside the box (in place), sized to the box."""
    for (x, y, w, _), number in zip(np.asarray(boxes), numbers):
        scale = float(np.clip(w / 120, 0.4, 3.0))
        thick = max(1, round(scale * 2))
        text = str(number)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        origin = (int(x) + max(2, thick * 2), int(y) + th + max(2, thick * 2))
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, NUMBER_COLOUR, thick, cv2.LINE_AA)
    return image
