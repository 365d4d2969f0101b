"""A keypoint confidence for every face: its estimated keypoint error, from the mirror image's disagreement.

A model whose card carries a learned head (:mod:`keypoints.predict.estimates.error_head`) estimates it from the
disagreement and the network's own features instead (:func:`face_errors` picks); the straight line below is
the estimate of every other model.

The predictor already predicts each face and its mirror image (mirrored back)
and averages the two. Where the network reads a face well the two agree; where
it guesses (a face turned away, blurred, or not a face) they part. The mean
distance between the two predictions, in the 96x96 frame, mapped by a straight
line calibrated on validation faces, estimates the mean keypoint error; scaled
by the crop's side it is in photo pixels.
"""

import numpy as np

from keypoints.data.schema import IMAGE_SIZE
from keypoints.data.transforms import flip_horizontal, flip_permutation
from keypoints.errors import ModelFileError
from keypoints.model.inference import keypoint_feature_count, predict_pixels, predict_pixels_and_features
from keypoints.predict.estimates.error_head import ErrorHead

ERROR_SLOPE = 1.360
"""Estimated error (96-frame px) per px of disagreement (see docs/decisions/0017-keypoint-confidence.md)."""

ERROR_INTERCEPT = 0.733
"""Estimated error (96-frame px) at no disagreement (see docs/decisions/0017-keypoint-confidence.md)."""

MIRROR_WEIGHT = 0.8
"""With a learned head, a face's estimate is the larger of the head's and this times the mirror line's: the mirror
line takes over only where it says a quarter more than the head, as on a face read upside down or not a face (see
docs/decisions/0076-error-estimate-a-learned-head.md)."""

LARGE_ERROR = 0.10
"""An estimated error above this fraction of the predicted distance between the eyes marks a face whose
keypoints should not be trusted; it is drawn in red (see docs/decisions/0017-keypoint-confidence.md)."""


def predict_with_disagreement(module, images, columns, mirror_sum, per_keypoint=False, features=False):
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
    features : bool
        Also give the feature means of each face, averaged with its mirror image's (None for a network
        without them).

    Returns
    -------
    averaged : ndarray of float32, shape (N, K)
        The same as :func:`keypoints.model.inference.predict_pixels_flip_averaged`.
    disagreement : ndarray of float64, shape (N,), or (N, K / 2) with ``per_keypoint``
        Mean over keypoints of the distance between the two predictions, 96-frame px (or each keypoint's, in the
        order of ``columns``' pairs).
    means : ndarray of float32, shape (N, C), or None
        Only with ``features``.
    """
    # the faces and their mirror images in one call: one pass of the network over 2N faces
    both_images = np.concatenate([images, images[..., ::-1]])
    if features:
        both, means = predict_pixels_and_features(module, both_images)
        if means is not None:
            means = (means[: len(images)] + mirrored_features(means[len(images) :], columns, module)) / 2
    else:
        both = predict_pixels(module, both_images)
    straight, mirrored = both[: len(images)], both[len(images) :]
    _, back = flip_horizontal(images[:0], mirrored, columns, scaled=False, mirror_sum=mirror_sum)
    gap = np.hypot(*(straight - back).reshape(len(images), -1, 2).transpose(2, 0, 1))  # (N, K / 2)
    gap = gap if per_keypoint else gap.mean(axis=1)
    averaged = ((straight + back) / 2).astype(np.float32)
    return (averaged, gap.astype(np.float64), means) if features else (averaged, gap.astype(np.float64))


def mirrored_features(features, columns, module):
    """Features of mirrored faces in the order of the faces' own keypoints: per-keypoint ones swapped left-right.

    Parameters
    ----------
    features : ndarray, shape (N, C + S)
        Of the mirror images; the last S (:func:`keypoints.model.inference.keypoint_feature_count`) one per keypoint.
    columns : sequence of str, length K
    module : torch.nn.Module or OnnxNetwork

    Returns
    -------
    ndarray, shape (N, C + S)
    """
    count = keypoint_feature_count(module)
    if not count:
        return features
    order = flip_permutation(columns)[0::2] // 2  # keypoint i of a mirrored face is keypoint order[i] of the face
    swapped = features.copy()
    swapped[:, -count:] = features[:, -count:][:, order]
    return swapped


def error_head_of(model):
    """The learned head a loaded model's card carries (read once per card), or None.

    Raises
    ------
    ModelFileError
        The card's head is broken (the message names the model file).
    """
    card = getattr(model, "card", None) or {}
    cached = _HEADS.get(id(card))
    if cached is None or cached[0] is not card:
        try:
            head = ErrorHead.from_card(card)
        except ModelFileError as error:
            raise ModelFileError(f"{getattr(model, 'path', 'the model')}: {error}") from error
        cached = _HEADS[id(card)] = (card, head)
    return cached[1]


_HEADS = {}  # id of a card -> (the card, its head): the card is kept so that its id is never reused


def face_errors(head, gaps, features, keypoints, sides):
    """Each face's estimated mean keypoint error and each keypoint's, photo px.

    With a learned head (and its inputs), a face's error is the larger of the head's and ``MIRROR_WEIGHT`` times the
    mirror line's, and its keypoints share it as the head says; without, both come from the mirror line.

    Parameters
    ----------
    head : ErrorHead or None
    gaps : ndarray, shape (N, 15)
        Each keypoint's mirror disagreement, 96-frame px, ``KEYPOINTS`` order (NaN without a mirror pass).
    features : ndarray, shape (N, C), or None
    keypoints : ndarray, shape (N, 15, 2)
        The predicted keypoints, photo px.
    sides : ndarray, shape (N,)
        The crops' sides, photo px.

    Returns
    -------
    face : ndarray of float64, shape (N,)
    each : ndarray of float64, shape (N, 15)
        Each face's mean is ``face``.

    Raises
    ------
    ModelFileError
        The head reads another number of features than the network gives.
    """
    gaps = np.asarray(gaps, np.float64)
    sides = np.asarray(sides, np.float64)
    mirror = estimate_error(gaps.mean(axis=1), sides)
    if head is None or features is None or not len(gaps) or not np.isfinite(gaps).all():
        return mirror, estimate_error(gaps, sides[:, None])
    if np.asarray(features).shape[1] != head.feature_count:
        raise ModelFileError(
            f"the model card's error head reads {head.feature_count} features, the network gives "
            f"{np.asarray(features).shape[1]}: the card belongs to another network; export the model again"
        )
    learned, each = head.estimate(features, gaps, sides, keypoints)
    # the head knows faces like those it was fitted on; a crop the network cannot read at all (upside down, not a
    # face) is known by its mirror disagreement: the larger, spread over the keypoints as the head spreads its own
    face = np.maximum(learned, MIRROR_WEIGHT * mirror)
    return face, each * (face / learned)[:, None]


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
