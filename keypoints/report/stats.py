"""Statistics of a multi-seed comparison: mean and spread over seeds, paired differences with a t-interval, and
the corrected resampled t-test of Nadeau and Bengio for seeds that each drew their own split.

The plain paired t-interval treats the seeds' differences as independent. When every seed draws its own
train/validation split of the same faces, the training sets overlap, the differences are correlated, and that
interval is too narrow. Nadeau and Bengio (2003, "Inference for the generalization error", Machine Learning 52)
widen the variance of the mean from ``s**2 / J`` to ``(1/J + n_valid/n_train) * s**2`` for ``J`` resampled
splits (Bouckaert and Frank 2004 call it the corrected resampled t-test); the degrees of freedom stay ``J - 1``.
"""

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from keypoints.errors import KeypointsError

CONFIDENCE = 0.95

POWER = 0.8
"""The power of the minimum detectable difference: a true difference that large is shown 4 times in 5."""

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no difference shown at this precision"
"""The three verdicts on a difference ``b - a`` of an error: below zero, above zero, or an interval across zero."""


class Spread(NamedTuple):
    """Mean and sample standard deviation (``ddof=1``; NaN for one value) of ``n`` values."""

    mean: float
    std: float
    n: int


class PairedDifference(NamedTuple):
    """The mean of paired differences ``b - a`` and its t-interval.

    Attributes
    ----------
    mean : float
    low, high : float
        The ``confidence`` interval of the mean (NaN with fewer than 2 pairs).
    std : float
        Sample standard deviation of the differences.
    n : int
        Number of pairs.
    confidence : float
    correction : float, optional
        ``n_valid / n_train`` of the corrected resampled t-test; None for the plain paired t-interval.
    detectable : float
        The minimum detectable difference: the true ``|b - a|`` that this design shows at ``confidence`` with
        probability :data:`POWER` (:func:`minimum_detectable`); NaN with fewer than 2 pairs.
    """

    mean: float
    low: float
    high: float
    std: float
    n: int
    confidence: float = CONFIDENCE
    correction: float = None
    detectable: float = float("nan")

    @property
    def excludes_zero(self):
        """Whether the interval lies wholly on one side of zero."""
        return bool(self.low > 0 or self.high < 0)

    @property
    def half_width(self):
        """Half the interval's width: the smallest mean difference this spread of seeds would have shown."""
        return (self.high - self.low) / 2

    @property
    def verdict(self):
        """:data:`BETTER` (``b`` has the smaller error), :data:`WORSE`, or :data:`NO_DIFFERENCE`."""
        if self.high < 0:
            return BETTER
        if self.low > 0:
            return WORSE
        return NO_DIFFERENCE


def spread(values):
    """:class:`Spread` of a sequence of numbers."""
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return Spread(float(values.mean()), std, len(values))


def paired_difference(a, b, confidence=CONFIDENCE):
    """Mean of ``b - a`` over pairs (same seed and split) with Student's t-interval.

    Parameters
    ----------
    a, b : sequence of float, same length
        E.g. the best validation RMSE of the shared-weights and the locally-connected twin, seed by seed.
    confidence : float

    Returns
    -------
    PairedDifference
    """
    a, b = _pairs(a, b)
    return _interval(b - a, confidence, None)


def _interval(differences, confidence, correction):
    """The t-interval of the mean of ``differences`` with the variance factor ``1/J + correction``."""
    n = len(differences)
    mean = float(differences.mean())
    if n < 2:
        return PairedDifference(mean, float("nan"), float("nan"), float("nan"), n, confidence, correction)
    std = float(differences.std(ddof=1))
    error = std * math.sqrt(1 / n + (correction or 0.0))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * error
    detectable = minimum_detectable(error, n - 1, confidence)
    return PairedDifference(mean, mean - half, mean + half, std, n, confidence, correction, detectable)


def minimum_detectable(standard_error, dof, confidence=CONFIDENCE, power=POWER):
    """The smallest true difference a two-sided t-test shows with probability ``power``.

    ``(t[(1 + confidence) / 2] + t[power]) * standard_error``, both quantiles of Student's t with ``dof``
    degrees of freedom (the usual approximation, which leaves out the chance of a verdict of the wrong sign).

    Parameters
    ----------
    standard_error : float
        Of the mean difference, corrected where the splits overlap.
    dof : int
    confidence, power : float

    Returns
    -------
    float
    """
    return float(stats.t.ppf((1 + confidence) / 2, dof) + stats.t.ppf(power, dof)) * standard_error


def corrected_paired_difference(a, b, n_train, n_valid, confidence=CONFIDENCE):
    """Mean of ``b - a`` over seeds that each drew their own split, with the corrected resampled t-interval.

    Parameters
    ----------
    a, b : sequence of float, same length J
        The validation error of the two networks, seed by seed; seed ``j`` trained both on split ``j``.
    n_train, n_valid : float
        Training and validation faces per split (the mean over the splits where they differ).
    confidence : float

    Returns
    -------
    PairedDifference
        With ``correction = n_valid / n_train``: the variance of the mean is ``(1/J + n_valid/n_train) * s**2``.
    """
    a, b = _pairs(a, b)
    if n_train <= 0 or n_valid <= 0:
        raise ValueError(f"corrected_paired_difference needs positive split sizes; got {n_train} and {n_valid}")
    return _interval(b - a, confidence, n_valid / n_train)


def _pairs(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise KeypointsError(f"paired_difference needs two equal, non-empty 1-D sequences; got {a.shape} and {b.shape}")
    return a, b
