"""How to predict: the options of ``keypoints predict``, one object for photos and videos alike.

Light on purpose (no torch, no OpenCV), so that the command line's help can read the defaults.
"""

from dataclasses import dataclass

ALIGN = True
"""Turn each face upright from the detector's landmarks before cutting it (detectors
without landmarks, Haar, are cut from their box, upright in the photo); see
docs/decisions/0014-rotated-photos-faces-found-and-nme.md."""

DETECT_EVERY = 30
"""Frames between key frames, where the detector looks for faces; see
docs/decisions/0027-how-often-to-detect-in-a-video.md."""


@dataclass(frozen=True)
class PredictOptions:
    """What the predictor does with each face, the same for a photo and every frame of a video.

    Attributes
    ----------
    keep_low_score : bool
        Keep the faces the detector scores under its ``min_score``, marked ``low_score`` (drawn dashed
        and red); by default the detector leaves them out.
    align : bool
        Turn faces upright from the detector's landmarks (see ``ALIGN``).
    refine : bool
        Average each face's keypoints over the fully-convolutional windows within 8 px of its square
        (``conv`` models only; see :mod:`keypoints.predict.photo.refine`). Its windows are upright squares, so
        faces are then cut from their boxes, not turned.
    smooth : bool
        Videos: One Euro smoothing of each face's keypoints (see :mod:`keypoints.predict.video.smoothing`).
    detect_every : int
        Videos: frames between detections (see ``DETECT_EVERY``); 1 detects on every frame.
    """

    keep_low_score: bool = False
    align: bool = ALIGN
    refine: bool = False
    smooth: bool = True
    detect_every: int = DETECT_EVERY
