"""The faces a training run uses: find the file (its split: :mod:`keypoints.data.prepared`), the tensors, the
mean-face baseline, and the synthetic stand-in."""

from pathlib import Path

import numpy as np
import torch

from keypoints import paths
from keypoints.data.prepared import TrainValidSplit
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.splits import VALID_FRACTION
from keypoints.data.transforms import scale_images, scale_keypoints
from keypoints.measure.metrics import rmse_per_keypoint
from keypoints.training.batches import FaceTensors

SYNTHETIC_FACES = 1200
"""Size of the synthetic stand-in written when no training data is found."""


def resolve_data(requested=None, data_dir=None, say=print):
    """The training file to use: ``requested``, else one in ``data_dir``, else synthetic faces.

    Returns
    -------
    tuple of (Path, bool)
        The file, and whether it is the synthetic stand-in.
    """
    if requested:
        return Path(requested), False
    found = paths.find_training_file(data_dir)
    if found:
        return found, False
    searched = data_dir or ", ".join(str(d) for d in paths.data_dirs())
    data_dir = data_dir or paths.DATA_DIR
    synthetic = Path(data_dir) / "synthetic" / "training.csv"
    say(
        f"NOTICE: no training data found (looked for DATA=..., then {', '.join(paths.TRAINING_NAMES)} "
        f"in {searched}).\n"
        f"NOTICE: training on {SYNTHETIC_FACES} SYNTHETIC faces instead; the results below are not "
        "results on real faces.\n"
        "NOTICE: for the real data run `make data` (needs a Kaggle token) or see data/README.md."
    )
    if not synthetic.is_file():
        from keypoints.data.synthetic import write_synthetic_csv

        write_synthetic_csv(synthetic, SYNTHETIC_FACES, seed=0)
    return synthetic, True


def face_tensors(images, keypoints, device="cpu"):
    """Scaled tensors on ``device`` for training: pixels in [0, 1], keypoints in [-1, 1]."""
    return FaceTensors(
        torch.from_numpy(scale_images(images)), torch.from_numpy(scale_keypoints(keypoints)), KEYPOINT_COLUMNS
    ).to(device)


def mean_baseline(prepared):
    """RMSE of predicting the training mean of each coordinate, overall and per keypoint."""
    mean = np.nanmean(prepared.train_keypoints, axis=0)
    predicted = np.broadcast_to(mean, prepared.valid_keypoints.shape)
    return rmse_per_keypoint(predicted, prepared.valid_keypoints, prepared.columns)


def synthetic_split(n, seed=0, valid_fraction=VALID_FRACTION):
    """``n`` synthetic faces (:func:`keypoints.data.synthetic.generate_faces`), the first ones to train on.

    Returns
    -------
    TrainValidSplit
        Every face of one drawing is a different "person", so the split needs no identities.
    """
    from keypoints.data.synthetic import generate_faces

    images, keypoints = generate_faces(n, seed=seed)
    cut = int(n * (1 - valid_fraction))
    return TrainValidSplit(
        source=None,
        sha256="",
        columns=KEYPOINT_COLUMNS,
        synthetic=True,
        train_images=images[:cut],
        train_keypoints=keypoints[:cut],
        valid_images=images[cut:],
        valid_keypoints=keypoints[cut:],
        split=f"first {cut} / last {n - cut}",
    )
