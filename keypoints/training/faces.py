"""The faces a training run uses: find the file, load it, split it by person; the mean-face baseline."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from keypoints import paths
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.splits import VALID_FRACTION, identities_path_for, load_identities, train_valid_split
from keypoints.data.transforms import scale_images, scale_keypoints
from keypoints.errors import DataError
from keypoints.metrics import rmse_per_keypoint
from keypoints.training.batches import FaceTensors

SYNTHETIC_FACES = 1200
"""Size of the synthetic stand-in written when no training data is found."""


@dataclass
class TrainValidSplit:
    """The faces of one training file, split once for every network."""

    source: Path
    sha256: str
    columns: tuple
    train_images: np.ndarray  # (N_train, 1, 96, 96) uint8
    train_keypoints: np.ndarray  # (N_train, 30) pixels, NaN missing
    valid_images: np.ndarray
    valid_keypoints: np.ndarray
    split: str
    synthetic: bool = False
    train_sources: np.ndarray = None  # (N_train,) source name of each face, for runs on several sources
    valid_sources: np.ndarray = None  # (N_valid,)
    valid_identities: tuple = ()  # the people held out, for runs on several sources
    sources: tuple = ()  # per source: name, summary, terms (and photos, found, missed for photo folders)


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


class LabelledRows(NamedTuple):
    """The faces of a training file that have any keypoint, and the person of each when the file's people are known."""

    images: np.ndarray  # (N, 1, 96, 96) uint8
    keypoints: np.ndarray  # (N, 30) pixels, NaN missing
    people: np.ndarray  # (N,) identities, or None without an identities file
    lines: np.ndarray  # (N,) the CSV line of each face
    identities_file: Path  # or None


def labelled_rows(path, skip_bad_rows=False, say=print, skip_option="--skip-bad-rows"):
    """Load a training file's labelled faces (``skip_option``: as for :func:`keypoints.data.loader.load_kaggle_csv`).

    Raises
    ------
    DataError
        No keypoint columns (a test file), or fewer than 2 labelled faces.
    """
    data = load_kaggle_csv(path, skip_bad_rows=skip_bad_rows, skip_option=skip_option)
    for problem in data.skipped:
        say(f"skipped {problem}")
    if not data.columns:
        raise DataError(f"{path}: has no keypoint columns (a test file?); training needs training.csv.")
    keypoints = data.keypoints_in(KEYPOINT_COLUMNS)
    labelled = ~np.isnan(keypoints).all(axis=1)
    if labelled.sum() < 2:
        raise DataError(
            f"{path}: {int(labelled.sum())} of {len(data)} faces have any keypoint, and training needs at least 2 "
            "(one to train on, one to validate); is it a test file, or were the keypoint cells left empty?"
        )
    identities_file = identities_path_for(path)
    people = None
    if identities_file.is_file():
        # one identity per data row of the file, skipped rows included
        people = load_identities(identities_file, n_rows=len(data) + len(data.skipped))[data.lines - 2][labelled]
    return LabelledRows(
        data.images[labelled],
        keypoints[labelled],
        people,
        data.lines[labelled],
        identities_file if people is not None else None,
    )


def prepare(
    path,
    valid_fraction=VALID_FRACTION,
    seed=0,
    skip_bad_rows=False,
    synthetic=False,
    say=print,
    skip_option="--skip-bad-rows",
):
    """Load a training file and split it, by person when the people are known (``skip_option``: as for
    :func:`keypoints.data.loader.load_kaggle_csv`)."""
    rows = labelled_rows(path, skip_bad_rows, say, skip_option)
    groups = rows.people
    if groups is not None:
        split = f"by person: {rows.identities_file.name} ({len(set(groups))} people)"
    else:
        split = "random rows (no identities file, so one person may be on both sides)"
    images, keypoints = rows.images, rows.keypoints
    train, valid = train_valid_split(len(images), groups=groups, valid_fraction=valid_fraction, seed=seed)
    return TrainValidSplit(
        source=Path(path),
        sha256=file_sha256(path),
        columns=KEYPOINT_COLUMNS,
        train_images=images[train],
        train_keypoints=keypoints[train],
        valid_images=images[valid],
        valid_keypoints=keypoints[valid],
        split=f"{split}; {len(train)} train / {len(valid)} validation faces, seed {seed}",
        synthetic=synthetic,
    )


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


def file_sha256(path):
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
