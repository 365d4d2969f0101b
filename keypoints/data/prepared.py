"""A training file's labelled faces, the person of each, and the split by person made once for every network.

Training, the CSV evaluation and the commands read a Kaggle-format file through these, so that ``--split valid``
re-makes exactly the validation people of the run that trained a model.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.splits import VALID_FRACTION, identities_path_for, load_identities, train_valid_split
from keypoints.errors import DataError


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


def file_sha256(path):
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def csv_source(path, skip_bad_rows=False, say=print):
    """The labelled faces of a Kaggle-format CSV with the person of each (a row's own when unknown).

    Returns
    -------
    dict
        ``name``, ``images`` (N, 1, 96, 96) uint8, ``keypoints`` (N, 30), ``identities`` (N,), ``summary``.
    """
    rows = labelled_rows(path, skip_bad_rows, say)
    name = Path(path).name
    people = rows.people
    if people is None:
        people = np.array([f"{name}/row {line}" for line in rows.lines], dtype=object)
    return {
        "name": name,
        "images": rows.images,
        "keypoints": rows.keypoints,
        "identities": people.astype(object),
        "summary": f"{name}: {len(rows.images)} labelled faces of {len(set(people.tolist()))} people",
        "terms": "the terms of the data's source (for the Kaggle file, the competition's rules)",
        "sha256": file_sha256(path),
    }
