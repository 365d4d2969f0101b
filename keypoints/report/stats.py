"""Statistics of a multi-seed comparison: mean and spread over seeds, and paired differences with a t-interval."""

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from keypoints.errors import KeypointsError

CONFIDENCE = 0.95


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
    """

    mean: float
    low: float
    high: float
    std: float
    n: int
    confidence: float = CONFIDENCE

    @property
    def excludes_zero(self):
        """Whether the interval lies wholly on one side of zero."""
        return bool(self.low > 0 or self.high < 0)


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
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise KeypointsError(f"paired_difference needs two equal, non-empty 1-D sequences; got {a.shape} and {b.shape}")
    differences = b - a
    n = len(differences)
    mean = float(differences.mean())
    if n < 2:
        return PairedDifference(mean, float("nan"), float("nan"), float("nan"), n, confidence)
    std = float(differences.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return PairedDifference(mean, mean - half, mean + half, std, n, confidence)
