"""How the predictor frames a detected face: the crop of each pass, and the same crops for training faces.

Both the predictor (:mod:`keypoints.predict.photo.pipeline`) and the training faces cut from labelled photos
(:mod:`keypoints.training.photo_faces`) frame faces here, so the network trains on the crops it is asked about.
"""

from typing import NamedTuple

import numpy as np

from keypoints.data.conventions import offsets_in_crop
from keypoints.predict.crops.align import (
    aligned_to_photo,
    clip_to_aligned,
    crop_for_landmarks,
    cut_aligned,
    photo_to_aligned,
    reframe_ok,
    reframe_on_keypoints,
)
from keypoints.predict.crops.crop import (
    clip_to_crop,
    crop_for_box,
    crop_for_keypoints,
    cut_faces,
    refine_ok,
    to_crop,
    to_photo,
)
from keypoints.predict.options import ALIGN


class Framing(NamedTuple):
    """How a face is cut and re-framed: from the detector's landmarks (turned upright) or from its box."""

    cut: object
    to_frame: object
    reframe: object
    keep: object
    clip: object
    to_crop: object


ALIGNED = Framing(cut_aligned, aligned_to_photo, reframe_on_keypoints, reframe_ok, clip_to_aligned, photo_to_aligned)
BOXED = Framing(cut_faces, to_photo, lambda points, crop: crop_for_keypoints(points), refine_ok, clip_to_crop, to_crop)


def first_crops(found, windows=None, align=ALIGN):
    """How the predictor frames each detection for its first pass: from the landmarks when the detector gives
    them (turned upright when ``align``), from the box otherwise or with ``--refine``'s ``windows``.

    Parameters
    ----------
    found : Detections
    windows : FullyConvolutional, optional
    align : bool

    Returns
    -------
    framings : list of Framing
    crops : list of AlignedCrop or Crop
    """
    aligned = found.landmarks is not None and windows is None
    if aligned:
        return [ALIGNED] * len(found), [crop_for_landmarks(marks, rotate=align) for marks in found.landmarks]
    return [BOXED] * len(found), [crop_for_box(box) for box in found.boxes]


def training_crops(gray, found, truth, align=ALIGN):
    """The crops the predictor cuts of one detected face, with its true keypoints carried into each.

    Two crops: the first pass's (from the detector), and the one re-framed on the true keypoints, which is what
    the later passes cut when the predictions are right (left out where the predictor would not keep it, and where
    a keypoint is missing: the re-framing reads all 15).

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
    found : Detections
        One detection.
    truth : ndarray, shape (15, 2)
        Photo pixels; NaN where a keypoint is missing (it stays NaN in every crop).
    align : bool

    Returns
    -------
    images : ndarray of uint8, shape (C, 1, 96, 96)
    keypoints : ndarray of float64, shape (C, 15, 2)
        In each crop's 96x96 frame.
    """
    (framing,), (first,) = first_crops(found, align=align)
    crops = [first]
    if np.isfinite(truth).all():
        refined = framing.reframe(truth, first)
        if framing.keep(first, refined):
            crops.append(refined)
    images = framing.cut(gray, crops)
    return images, np.stack([framing.to_crop(truth, crop) for crop in crops])


def labels_in_convention(truth, crop, offset):
    """True photo keypoints moved by minus a set's convention offset in the frame of ``crop``
    (:mod:`keypoints.data.conventions`): the labels as the human convention would place them on this face.

    Parameters
    ----------
    truth : ndarray, shape (15, 2)
        Photo pixels.
    crop : AlignedCrop or Crop
    offset : ndarray, shape (15, 2)
        Over the eye distance, in the face's frame (:data:`keypoints.data.conventions.OFFSETS`).

    Returns
    -------
    ndarray of float64, shape (15, 2)
    """
    framing = ALIGNED if hasattr(crop, "angle") else BOXED
    points = framing.to_crop(truth, crop)
    return framing.to_frame(points - offsets_in_crop(points[None], offset)[0], crop)
