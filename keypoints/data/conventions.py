"""Label conventions: where each labelled photo set puts its keypoints, against the Kaggle convention.

The sets were drawn by different annotators: ``frames`` takes an eye centre as the mean of the eye's outline (as the
Kaggle stand-in does), ``fgnet`` and ``helen`` put it on the pupil, and each set places brow ends and lip centres by
its own rules. A set's offset is its labels minus the Kaggle convention's, per keypoint, in the 96x96 frame of an
upright crop (where the face has the training faces' size); training moves its labels by minus the offset so that
the model learns one convention (see docs/decisions.md, "Label conventions").
"""

import numpy as np

from keypoints.data.schema import KEYPOINTS
from keypoints.errors import DataError

OFFSETS = {
    "fgnet": np.array(
        [
            [-1.23, -1.75],
            [-0.79, -1.57],
            [-1.18, -0.47],
            [-0.49, -0.29],
            [-0.24, -0.46],
            [-1.35, 0.09],
            [-2.29, 1.89],
            [-0.58, 1.42],
            [1.21, 2.44],
            [-0.81, 2.04],
            [-0.77, -0.79],
            [-0.99, -1.91],
            [-0.43, -1.60],
            [-0.71, -0.41],
            [-0.76, -0.86],
        ]
    ),
    "helen": np.array(
        [
            [-1.33, -2.11],
            [-0.77, -1.98],
            [-1.81, -1.22],
            [-0.54, -1.19],
            [-0.49, -1.17],
            [-1.91, -0.93],
            [-3.31, 1.64],
            [-3.17, -0.55],
            [0.72, 1.77],
            [0.71, 0.10],
            [-1.45, -3.00],
            [-1.08, -2.13],
            [-1.00, -2.08],
            [-1.30, -1.83],
            [-1.40, -1.47],
        ]
    ),
}
"""Folder name -> (15, 2) offset in 96x96-crop pixels (``KEYPOINTS`` order); a set not named here is taken to be
in the Kaggle convention. Measured by ``tools/measure_conventions.py``."""


def offset_of(source):
    """The (15, 2) offset of a set (zeros for one in the Kaggle convention)."""
    return np.asarray(OFFSETS.get(source, np.zeros((len(KEYPOINTS), 2))), dtype=np.float64)


def to_kaggle_convention(keypoints, source):
    """Crop keypoints of a set moved into the Kaggle convention.

    Parameters
    ----------
    keypoints : ndarray, shape (N, 15, 2)
        In upright 96x96 crops.
    source : str
        The set's folder name.

    Returns
    -------
    ndarray of float64, shape (N, 15, 2)
    """
    points = np.asarray(keypoints, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (len(KEYPOINTS), 2):
        raise DataError(f"label conventions apply to (N, 15, 2) keypoints; got shape {points.shape}")
    return points - offset_of(source)
