"""What :class:`~keypoints.predictor.Predictor` gives back: :class:`Faces`, a sequence of :class:`Face` records.

Loop over the faces, index them, or take the arrays for vector work::

    for face in faces:                         # largest first
        face.box, face.score, face.keypoints   # (4,), float, (15, 2)
        face.error_px, face.keypoint_errors_px # the estimated error: mean (px) and per keypoint (15,)
        face.yaw, face.pitch, face.roll        # head pose, degrees
    faces[0]                                   # the largest face
    faces.keypoints                            # (N, 15, 2); also boxes, scores, errors_px, keypoint_errors_px, poses
"""

import math
from dataclasses import dataclass, field

import numpy as np

from keypoints.data.schema import KEYPOINTS


@dataclass(frozen=True, repr=False)
class Face:
    """One face: where it is, how sure the detector and the network are, which way it is turned.

    Attributes
    ----------
    box : ndarray of float64, shape (4,)
        ``x, y, w, h``, image pixels.
    score : float
        The detector's confidence in [0, 1]; NaN for a detector without one (Haar) or for a box the caller gave.
    keypoints : ndarray of float64, shape (15, 2)
        ``x, y``, image pixels, in :data:`keypoints.data.schema.KEYPOINTS` order.
    error_px : float
        Estimated mean keypoint error, image pixels, from the disagreement of the face's and its mirror image's
        predictions (:mod:`keypoints.predict.estimates.confidence`); NaN for a model that cannot be flip-averaged.
    keypoint_errors_px : ndarray of float64, shape (15,)
        The same estimate per keypoint; their mean is ``error_px``.
    pose : ndarray of float64, shape (3,)
        Yaw, pitch, roll in degrees (:mod:`keypoints.predict.estimates.pose` gives the signs).
    names : tuple of str
        The 15 keypoint names.
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray
    error_px: float
    keypoint_errors_px: np.ndarray
    pose: np.ndarray
    names: tuple = KEYPOINTS

    @property
    def yaw(self):
        """Degrees; > 0: turned towards the image's right (the person's left)."""
        return float(self.pose[0])

    @property
    def pitch(self):
        """Degrees; > 0: turned up."""
        return float(self.pose[1])

    @property
    def roll(self):
        """Degrees; > 0: turned counter-clockwise in the image."""
        return float(self.pose[2])

    @property
    def eye_distance_px(self):
        """Distance between the predicted eye centres, image pixels: the scale of the face."""
        return float(np.linalg.norm(self.keypoints[0] - self.keypoints[1]))

    def __repr__(self):
        x, y, w, h = (round(float(v)) for v in self.box)
        return (
            f"Face(box=({x}, {y}, {w}, {h}), score={_short(self.score, '.2f')}, "
            f"error_px={_short(self.error_px, '.1f')}, yaw={_short(self.yaw, '.0f')}, "
            f"pitch={_short(self.pitch, '.0f')}, roll={_short(self.roll, '.0f')})"
        )


@dataclass(repr=False)
class Faces:
    """The faces found in one image, largest first: a sequence of :class:`Face`, with arrays for vector work.

    Attributes
    ----------
    boxes : ndarray of float64, shape (N, 4)
        ``x, y, w, h`` in image pixels.
    keypoints : ndarray of float64, shape (N, 15, 2)
        ``x, y`` in image pixels, in :data:`keypoints.data.schema.KEYPOINTS` order.
    scores : ndarray of float64, shape (N,)
        The detector's confidence in [0, 1]; NaN for a detector that gives none, or for boxes the caller gave.
    errors_px : ndarray of float64, shape (N,)
        Estimated mean keypoint error of each face, image pixels (see :attr:`Face.error_px`).
    keypoint_errors_px : ndarray of float64, shape (N, 15)
        The estimate per keypoint.
    poses : ndarray of float64, shape (N, 3)
        Yaw, pitch and roll of each face, degrees.
    names : tuple of str
        The 15 keypoint names.
    size : tuple of int
        ``(width, height)`` of the image.
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    errors_px: np.ndarray
    keypoint_errors_px: np.ndarray
    poses: np.ndarray
    size: tuple
    names: tuple = KEYPOINTS
    _image: np.ndarray = field(default=None, compare=False)  # BGR uint8 copy of the input, for draw()
    _channels: str = "rgb"

    def __len__(self):
        return len(self.boxes)

    def __getitem__(self, index):
        """``faces[i]`` is a :class:`Face`; ``faces[1:]`` and ``faces[mask]`` are :class:`Faces` of the same image."""
        if isinstance(index, (int, np.integer)):
            if not -len(self) <= index < len(self):
                raise IndexError(f"face {index} of {len(self)}: the image has faces 0 to {len(self) - 1}")
            index = int(index) % len(self)
            return Face(
                self.boxes[index],
                float(self.scores[index]),
                self.keypoints[index],
                float(self.errors_px[index]),
                self.keypoint_errors_px[index],
                self.poses[index],
                self.names,
            )
        pick = np.arange(len(self))[index]
        return Faces(
            self.boxes[pick],
            self.keypoints[pick],
            self.scores[pick],
            self.errors_px[pick],
            self.keypoint_errors_px[pick],
            self.poses[pick],
            self.size,
            self.names,
            self._image,
            self._channels,
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        width, height = self.size
        listed = "".join(f"\n  {face!r}," for face in self)
        return f"Faces({len(self)} face{'s'[: len(self) != 1]} in a {width}x{height} image{':' if listed else ''}" + (
            f"{listed}\n)" if listed else ")"
        )

    def draw(self):
        """A copy of the image with each face's box and keypoints drawn (sized to the face, coloured by part).

        Returns
        -------
        ndarray of uint8, shape (H, W, 3)
            In the input's channel order: RGB for an RGB array, a path or a PIL image; BGR for ``channels="bgr"``.
        """
        import cv2

        from keypoints.predict.outputs.draw import draw_faces

        drawn = draw_faces(self._image.copy(), self.boxes, self.keypoints)
        return drawn if self._channels == "bgr" else cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB)


def _short(value, fmt):
    if not math.isfinite(value):
        return "nan"
    text = format(value, fmt)
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0"
