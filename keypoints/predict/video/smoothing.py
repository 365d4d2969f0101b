"""Temporal smoothing of a face's keypoints: the One Euro filter (Casiez, Roussel and Vogel, CHI 2012).

A low-pass filter whose cutoff rises with the speed of the signal: when the face
is still the cutoff is low (little jitter), when it moves the cutoff is high
(little lag). All 15 keypoints of a face share one cutoff, set by the speed of
their mean (the face's own movement), in which the keypoints' independent noise
averages out, so that noise does not open the filter.
Positions are filtered in units of the face's size (its first crop side / 96),
so the same settings suit a 60-px face and a 600-px one.
"""

import numpy as np

MIN_CUTOFF = 0.05
"""Cutoff (Hz) when the face is still; see docs/decisions/0026-one-euro-filter-settings.md."""

BETA = 0.2
"""Cutoff (Hz) added per unit of speed (face-size units of 96 px per second); see the same section."""

D_CUTOFF = 4.0
"""Cutoff (Hz) of the speed estimate itself: a quick one, so the filter opens within a frame or two of
a move starting; see the same section."""


def smoothing_factor(cutoff, dt):
    """The exponential-smoothing weight of a first-order low-pass filter at ``cutoff`` Hz over ``dt`` seconds."""
    tau = 1.0 / (2 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One Euro filter over an array of points, one call per frame.

    Parameters
    ----------
    min_cutoff : float
        Hz, see ``MIN_CUTOFF``.
    beta : float
        See ``BETA``.
    d_cutoff : float
        Hz, see ``D_CUTOFF``.
    unit : float
        Pixels per filter unit (the face's size / 96); positions and speeds are divided by it.
    """

    def __init__(self, min_cutoff=MIN_CUTOFF, beta=BETA, d_cutoff=D_CUTOFF, unit=1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0 or unit <= 0:
            raise ValueError(
                f"One Euro filter needs min_cutoff > 0, d_cutoff > 0, beta >= 0, unit > 0; "
                f"got {min_cutoff}, {d_cutoff}, {beta}, {unit}"
            )
        self.min_cutoff, self.beta, self.d_cutoff, self.unit = min_cutoff, beta, d_cutoff, unit
        self.value_ = None  # (P, 2) filtered, in filter units
        self.speed_ = None  # (P, 2) filtered derivative, units per second
        self.time_ = None

    def __call__(self, points, time_s):
        """Filter one frame's points.

        Parameters
        ----------
        points : ndarray, shape (P, 2)
            Pixels.
        time_s : float
            The frame's time; must increase from call to call.

        Returns
        -------
        ndarray of float64, shape (P, 2)
            Filtered, pixels.
        """
        x = np.asarray(points, dtype=np.float64) / self.unit
        if self.value_ is None:
            self.value_, self.speed_, self.time_ = x, np.zeros_like(x), time_s
            return x * self.unit
        dt = time_s - self.time_
        if dt <= 0:
            raise ValueError(f"One Euro filter: time must increase, got {time_s} after {self.time_}")
        speed = (x - self.value_) / dt
        self.speed_ = self.speed_ + smoothing_factor(self.d_cutoff, dt) * (speed - self.speed_)
        cutoff = self.min_cutoff + self.beta * float(np.linalg.norm(self.speed_.mean(axis=0)))
        self.value_ = self.value_ + smoothing_factor(cutoff, dt) * (x - self.value_)
        self.time_ = time_s
        return self.value_ * self.unit
