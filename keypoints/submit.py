"""``keypoints submit``: the Kaggle submission file for ``test.csv``.

Kaggle asks, through ``IdLookupTable.csv`` (``RowId,ImageId,FeatureName,Location``),
for some keypoints of each test image (27124 of the 1783 x 30). The
submission is ``RowId,Location``: one row per lookup row, in the lookup
table's order, each the predicted coordinate in pixels, clipped to the frame
[0, 96]. Every lookup row is checked before anything is predicted: a row that
names an image missing from ``test.csv`` or a feature the model does not
predict is an error naming the file and line, and nothing is written.
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from keypoints.atomic import check_output_file, missing_reason, replacing
from keypoints.data.loader import SHOWN_PROBLEMS, load_kaggle_csv
from keypoints.data.schema import IMAGE_SIZE
from keypoints.errors import DataError, problem_lines
from keypoints.guards import check_finite_predictions
from keypoints.model.checkpoint import load_model
from keypoints.model.inference import predict_pixels

LOOKUP_COLUMNS = ("RowId", "ImageId", "FeatureName")
"""Columns the lookup table must have (``Location``, empty in Kaggle's file, is ignored)."""

SUBMISSION_COLUMNS = ("RowId", "Location")


class Submission(NamedTuple):
    """What :func:`write_submission` wrote: the file, its number of rows, and of test images used."""

    path: Path
    rows: int
    images: int


class Lookup(NamedTuple):
    """A checked lookup table: for each row its RowId, the index of its image in test.csv, its column."""

    row_ids: np.ndarray  # (R,) int64
    image_index: np.ndarray  # (R,) int64, into the test images
    column_index: np.ndarray  # (R,) int64, into the model's output columns


def read_lookup(path, image_ids, columns):
    """Read and check ``IdLookupTable.csv`` against the test images and the model's columns.

    Parameters
    ----------
    path : str or Path
    image_ids : ndarray of int, shape (N,)
        The ``ImageId`` of each test image, in file order.
    columns : sequence of str
        The model's output columns (``left_eye_center_x`` ...).

    Returns
    -------
    Lookup

    Raises
    ------
    DataError
        The file is missing, lacks a column, has no rows, or has rows whose
        RowId is not a whole number or repeats, whose ImageId is not in
        ``test.csv``, or whose FeatureName the model does not predict; the
        message names the file and the line of each (the header is line 1).
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a file. Pass the Kaggle IdLookupTable.csv with --lookup.")
    if not path.is_file() and (path.exists() or path.is_symlink()):
        raise DataError(f"{path}: {missing_reason(path)}; pass the Kaggle IdLookupTable.csv itself with --lookup.")
    if not path.is_file():
        raise DataError(f"{path}: no such file. Pass the Kaggle IdLookupTable.csv with --lookup.")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot be read as a CSV ({str(error).strip().splitlines()[0]}).") from error
    missing = [c for c in LOOKUP_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"{path}, line 1 (header): no column {', '.join(repr(c) for c in missing)}; a Kaggle lookup "
            f"table has {','.join(LOOKUP_COLUMNS)},Location."
        )
    if table.empty:
        raise DataError(f"{path}: the file has a header but no rows.")
    lines = np.arange(len(table)) + 2
    row_ids = _whole_numbers(table["RowId"])
    ids = _whole_numbers(table["ImageId"])
    position = {int(i): k for k, i in enumerate(image_ids)}
    image_index = np.array([position.get(int(i), -1) if np.isfinite(i) else -1 for i in ids], np.int64)
    column_position = {name: k for k, name in enumerate(columns)}
    features = table["FeatureName"].str.strip()
    column_index = features.map(column_position).fillna(-1).to_numpy(np.int64)
    repeated = pd.Series(row_ids).duplicated(keep="first").to_numpy() & np.isfinite(row_ids)
    problems = []
    for k in np.flatnonzero(~np.isfinite(row_ids) | repeated | (image_index < 0) | (column_index < 0)):
        problems.append(
            f"line {lines[k]}: "
            + _row_problem(
                table.iloc[k], row_ids[k], repeated[k], ids[k], image_index[k], column_index[k], image_ids, columns
            )
        )
    if problems:
        raise DataError(
            f"{path}: {len(problems)} of {len(table)} lookup rows cannot be answered:\n"
            + problem_lines(problems, SHOWN_PROBLEMS)
            + "\nCheck that --test and --lookup come from the same competition files; "
            "nothing was written."
        )
    return Lookup(row_ids.astype(np.int64), image_index, column_index)


def write_submission(test_path, lookup_path, model_path, out_path):
    """Predict the test images and write the submission.

    Parameters
    ----------
    test_path : str or Path
        Kaggle ``test.csv`` (``ImageId,Image``), plain, ``.gz`` or ``.zip``.
    lookup_path : str or Path
        Kaggle ``IdLookupTable.csv``.
    model_path : str or Path
    out_path : str or Path
        The submission CSV; written whole or not at all.

    Returns
    -------
    Submission

    Raises
    ------
    DataError
        A bad test file (see :func:`keypoints.data.loader.load_kaggle_csv`) or
        lookup table (see :func:`read_lookup`).
    ModelFileError
        A bad model file.
    """
    check_output_file(out_path, "--out", inputs=[test_path, lookup_path, model_path])  # before any work
    model = load_model(model_path)
    test = load_kaggle_csv(test_path, skip_option=None)  # every test image needs its answer: no row left out
    if test.image_ids is None:
        raise DataError(f"{test_path}: no ImageId column; the Kaggle test.csv has ImageId,Image.")
    repeated = pd.Series(test.image_ids).duplicated().to_numpy()
    if repeated.any():
        k = int(np.argmax(repeated))
        raise DataError(
            f"{test_path}, line {test.lines[k]}: ImageId {test.image_ids[k]} appears twice; "
            "each test image needs its own id."
        )
    lookup = read_lookup(lookup_path, test.image_ids, model.columns)
    used = np.unique(lookup.image_index)  # predict only the images asked for
    predicted = np.full((len(test), len(model.columns)), np.nan, np.float32)
    predicted[used] = predict_pixels(model.module, test.images[used])
    check_finite_predictions(predicted[used], model.path)
    location = np.clip(predicted[lookup.image_index, lookup.column_index], 0, IMAGE_SIZE)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out_path) as temporary:  # a reader never sees half a file, nor a complete-looking partial one
        pd.DataFrame({"RowId": lookup.row_ids, "Location": location}).to_csv(
            temporary, index=False, float_format="%.4f"
        )
    return Submission(out_path, len(lookup.row_ids), len(used))


def _whole_numbers(values):
    numbers = np.array(pd.to_numeric(values.str.strip(), errors="coerce"), dtype=np.float64)  # a writable copy
    numbers[numbers != np.round(numbers)] = np.nan
    return numbers


def _row_problem(row, row_id, repeated, image_id, image_index, column_index, image_ids, columns):
    if not np.isfinite(row_id):
        return f"RowId {row['RowId'][:40]!r} is not a whole number"
    if repeated:
        return f"RowId {int(row_id)} appears earlier in the file; every RowId must be unique"
    if not np.isfinite(image_id):
        return f"ImageId {row['ImageId'][:40]!r} is not a whole number"
    if image_index < 0:
        return (
            f"ImageId {int(image_id)} is not in the test file (its ImageIds run from {int(np.min(image_ids))} "
            f"to {int(np.max(image_ids))}, {len(image_ids)} images)"
        )
    known = ", ".join(c for c in columns)
    return f"FeatureName {row['FeatureName'][:40]!r} is not a keypoint this model predicts (it predicts {known})"
