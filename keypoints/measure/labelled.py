"""Folders of labelled photos: photos, ``keypoints.csv`` (a ``file`` column and the 30 Kaggle columns in photo
pixels) and, optionally, ``identities.csv`` (``file,identity``).

What measuring the predictor on photos and training on photos both read them with.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.errors import DataError
from keypoints.predict.inputs.read import read_photo

LABELS = "keypoints.csv"
IDENTITIES = "identities.csv"
NAMESPACES = ("lfw:",)
"""Identity prefixes of people named as LFW names them: ``lfw:NAME`` is the person ``NAME`` of a folder that
names its people plainly (YouTube Faces, behind the frames, took LFW's names), so the two sit on one side of a split."""


def read_labels(folder, labels="keypoints.csv"):
    """The true keypoints of a folder of labelled photos: ``(file name, (15, 2) keypoints)`` per row.

    Parameters
    ----------
    folder : str or Path
        Photos and a CSV ``labels`` with a ``file`` column and the 30 Kaggle columns in photo pixels.
    labels : str

    Returns
    -------
    list of (str, ndarray of float64, shape (15, 2))

    Raises
    ------
    DataError
        The CSV cannot be read or lacks columns.
    """
    table_path = Path(folder) / labels
    try:
        table = pd.read_csv(table_path)
    except (OSError, pd.errors.ParserError) as error:
        raise DataError(f"{table_path}: cannot be read as a CSV ({error})") from None
    missing = [c for c in ("file", *KEYPOINT_COLUMNS) if c not in table.columns]
    if missing:
        raise DataError(f"{table_path}: missing columns {', '.join(missing)}")
    points = table[list(KEYPOINT_COLUMNS)].to_numpy(np.float64).reshape(len(table), len(KEYPOINTS), 2)
    return list(zip(table["file"], points))


def labelled_photos(folder, labels="keypoints.csv", files=None):
    """The photos of a labelled folder and their true keypoints.

    Parameters
    ----------
    folder : str or Path
        Photos and a CSV ``labels`` with a ``file`` column and the 30 Kaggle columns in photo pixels.
    labels : str
    files : collection of str, optional
        Only these photos (for example the held-out people's); default: every labelled photo.

    Returns
    -------
    list of (str, ndarray of uint8 (H, W, 3), ndarray of float64 (15, 2))
        File name, BGR pixels, keypoints.

    Raises
    ------
    DataError
        The CSV cannot be read or lacks columns.
    """
    folder = Path(folder)
    rows = [(name, truth) for name, truth in read_labels(folder, labels) if files is None or name in files]
    return [(name, read_photo(folder / name), truth) for name, truth in rows]


def read_identities(folder, files):
    """The identity of each file: ``identities.csv`` when the folder has one (a :data:`NAMESPACES` prefix taken
    off); a file it does not name is its own person (so it can never be on both sides of a split).

    Returns
    -------
    ndarray of str, shape (len(files),)
    """
    path = Path(folder) / IDENTITIES
    known = {}
    if path.is_file():
        try:
            table = pd.read_csv(path, dtype=str)
        except (OSError, pd.errors.ParserError) as error:
            raise DataError(f"{path}: cannot be read as a CSV ({error})") from None
        if not {"file", "identity"} <= set(table.columns):
            raise DataError(f"{path}: needs the columns file,identity; has {', '.join(table.columns)}")
        known = dict(zip(table["file"], table["identity"]))
    source = Path(folder).name
    return np.array([person(known.get(name, f"{source}/{name}")) for name in files], dtype=object)


def person(identity):
    """The person an ``identities.csv`` entry names, with a :data:`NAMESPACES` prefix taken off."""
    for prefix in NAMESPACES:
        if identity.startswith(prefix):
            return identity[len(prefix) :]
    return identity


def labelled_face(found, truth):
    """Index of the (largest) detection whose box holds the centre of the true keypoints, or None.

    Parameters
    ----------
    found : Detections
    truth : ndarray, shape (15, 2)
        NaN where a keypoint is missing: the centre is that of the present ones (None when there are none).
    """
    present = np.isfinite(truth).all(axis=1)
    if not present.any():
        return None
    centre = truth[present].mean(axis=0)
    for k, (x, y, w, h) in enumerate(found.boxes):
        if x - 0.5 <= centre[0] <= x + w - 0.5 and y - 0.5 <= centre[1] <= y + h - 0.5:
            return k
    return None
