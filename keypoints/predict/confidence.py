"""A keypoint confidence for every face: its estimated keypoint error, from the mirror image's disagreement.

The predictor already predicts each face and its mirror image (mirrored back)
and averages the two. Where the network reads a face well the two agree; where
it guesses (a face turned away, blurred, or not a face) they part. The mean
distance between the two predictions, in the 96x96 frame, mapped by a straight
line calibrated on validation faces, estimates the mean keypoint error; scaled
by the crop's side it is in photo pixels.
"""

import numpy as np

from keypoints.data.schema import IMAGE_SIZE
from keypoints.data.transforms import flip_horizontal
from keypoints.inference import predict_pixels

ERROR_SLOPE = 1.360
"""Estimated error (96-frame px) per px of disagreement (see docs/decisions.md, "Keypoint confidence")."""

ERROR_INTERCEPT = 0.733
"""Estimated error (96-frame px) at no disagreement (see docs/decisions.md, "Keypoint confidence")."""

LARGE_ERROR = 0.10
"""An estimated error above this fraction of the predicted distance between the eyes marks a face whose
keypoints should not be trusted; it is drawn in red (see docs/decisions.md, "Keypoint confidence")."""


def predict_with_disagreement(module, images, columns, mirror_sum, per_keypoint=False):
    """Flip-averaged keypoints and how far the face's and its mirror's predictions part.

    Parameters
    ----------
    module : torch.nn.Module
    images : ndarray of uint8, shape (N, 1, 96, 96)
    columns : sequence of str, length K
    mirror_sum : float
        The model card's ``flip_mirror_sum_px``.
    per_keypoint : bool
        Give the distance of every keypoint, not their mean.

    Returns
    -------
    averaged : ndarray of float32, shape (N, K)
        The same as :func:`keypoints.inference.predict_pixels_flip_averaged`.
    disagreement : ndarray of float64, shape (N,), or (N, K / 2) with ``per_keypoint``
        Mean over keypoints of the distance between the two predictions, 96-frame px (or each keypoint's, in the
        order of ``columns``' pairs).
    """
    # the faces and their mirror images in one call: one pass of the network over 2N faces
    both = predict_pixels(module, np.concatenate([images, images[..., ::-1]]))
    straight, mirrored = both[: len(images)], both[len(images) :]
    _, back = flip_horizontal(images[:0], mirrored, columns, scaled=False, mirror_sum=mirror_sum)
    gap = np.hypot(*(straight - back).reshape(len(images), -1, 2).transpose(2, 0, 1))  # (N, K / 2)
    gap = gap if per_keypoint else gap.mean(axis=1)
    return ((straight + back) / 2).astype(np.float32), gap.astype(np.float64)


def estimate_error(disagreement, side=IMAGE_SIZE):
    """Estimated mean keypoint error, in photo px, from the disagreement (96-frame px) and the crop side.

    Applied to each keypoint's disagreement (shape (N, 15), with ``side`` of shape (N, 1)), it gives a per-keypoint
    estimate whose mean is the face's: the line is straight and never clipped (the intercept is positive).

    Parameters
    ----------
    disagreement : float or ndarray, shape (N,) or (N, 15)
    side : float or ndarray, shape (N,) or (N, 1)
        Photo pixels per 96 crop pixels times 96 (the crop's side); 96 gives the 96-frame error.

    Returns
    -------
    float or ndarray
    """
    frame = np.maximum(ERROR_SLOPE * np.asarray(disagreement, dtype=np.float64) + ERROR_INTERCEPT, 0.0)
    return frame * np.asarray(side, dtype=np.float64) / IMAGE_SIZE


def fit_calibration(disagreement, true_error):
    """Least-squares line ``true_error ~ slope * disagreement + intercept`` and the Spearman rank correlation.

    Parameters
    ----------
    disagreement, true_error : ndarray, shape (N,)

    Returns
    -------
    slope, intercept, spearman : float
    """
    d, e = np.asarray(disagreement, np.float64), np.asarray(true_error, np.float64)
    slope, intercept = np.polyfit(d, e, 1)
    return float(slope), float(intercept), spearman(d, e)


def spearman(a, b):
    """Spearman's rank correlation of two (N,) arrays (ties get their mean rank)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)
