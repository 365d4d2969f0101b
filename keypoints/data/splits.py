"""Seeded train/validation splits, by person when the people are known.

Consecutive frames of one video are near duplicates: a random row split puts
the same person on both sides and the validation error flatters. When each
row's person is known, whole people go to one side.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

from keypoints.errors import DataError

IDENTITY_COLUMN = "identity"

VALID_FRACTION = 0.2
"""Share of the people (of the rows, when the people are unknown) kept for validation, unless told otherwise."""


def identities_path_for(data_path):
    """Where the identities of a data file are looked for: ``training.csv.gz`` -> ``training_identities.csv``."""
    data_path = Path(data_path)
    stem = data_path.name.split(".")[0]
    return data_path.with_name(f"{stem}_identities.csv")


def load_identities(path, n_rows=None):
    """The person of each data row, from a CSV with one column ``identity`` (one row per data row).

    Parameters
    ----------
    path : str or Path
    n_rows : int, optional
        Data rows in the matching data file; a different count is an error.

    Returns
    -------
    ndarray of object, shape (n_rows,)
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: cannot be read as an identities CSV ({error}).") from error
    if IDENTITY_COLUMN not in table.columns:
        raise DataError(
            f"{path}, line 1 (header): no '{IDENTITY_COLUMN}' column; "
            f"the header has {', '.join(map(repr, table.columns))}."
        )
    identities = table[IDENTITY_COLUMN].to_numpy(dtype=object)
    if n_rows is not None and len(identities) != n_rows:
        raise DataError(
            f"{path}: {len(identities)} identities for {n_rows} data rows; "
            "the file needs one line per data row, in the same order."
        )
    empty = np.flatnonzero(identities == "")
    if len(empty):
        raise DataError(
            f"{path}, line {empty[0] + 2}, column '{IDENTITY_COLUMN}': empty "
            f"({len(empty)} empty in all). Every row needs its person."
        )
    return identities


def train_valid_split(n, groups=None, valid_fraction=VALID_FRACTION, seed=0):
    """Indices of a seeded train/validation split.

    Parameters
    ----------
    n : int
        Number of rows.
    groups : array-like, shape (n,), optional
        The person of each row; when given, no person is on both sides and
        ``valid_fraction`` is the fraction of people.
    valid_fraction : float
        In (0, 1).
    seed : int

    Returns
    -------
    tuple of ndarray of int64
        Train indices and validation indices, each sorted.
    """
    if not 0 < valid_fraction < 1:
        raise DataError(f"valid_fraction must be between 0 and 1, got {valid_fraction}.")
    rows = np.arange(n)
    if groups is None:
        splitter = ShuffleSplit(n_splits=1, test_size=valid_fraction, random_state=seed)
        train, valid = next(splitter.split(rows))
    else:
        groups = np.asarray(groups)
        if len(groups) != n:
            raise DataError(f"{len(groups)} identities for {n} rows.")
        if len(np.unique(groups)) < 2:
            raise DataError("a split by person needs at least two people.")
        splitter = GroupShuffleSplit(n_splits=1, test_size=valid_fraction, random_state=seed)
        train, valid = next(splitter.split(rows, groups=groups))
    return np.sort(train), np.sort(valid)
