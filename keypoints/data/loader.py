"""Loading and validating the Kaggle files ``training.csv`` and ``test.csv`` (plain, ``.gz`` or ``.zip``)."""

import gzip
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keypoints.data import cache
from keypoints.data.parse import RowProblem, parse_rows
from keypoints.data.schema import (
    ID_COLUMN,
    IMAGE_COLUMN,
    IMAGE_SIZE,
    KEYPOINT_COLUMNS,
    column_indices,
)
from keypoints.errors import DataError, problem_lines

SHOWN_PROBLEMS = 5
"""How many bad rows a data error lists before saying how many more there are."""


@dataclass
class KaggleData:
    """Faces read from a Kaggle-format file.

    Attributes
    ----------
    images : ndarray of uint8, shape (N, 1, 96, 96)
        Gray pixels 0-255.
    keypoints : ndarray of float32, shape (N, K)
        Keypoints in pixels, NaN where missing; K = 30 for a training file
        and 0 for a test file.
    columns : tuple of str, length K
        Names of the keypoint columns, in file order.
    lines : ndarray of int64, shape (N,)
        Line number in the file of each face (the header is line 1).
    image_ids : ndarray of int64, shape (N,), or None
        The ``ImageId`` column, when the file has one.
    source : Path
        The file read.
    skipped : tuple of RowProblem
        Rows left out because ``skip_bad_rows`` was given, one per row.
    from_cache : bool
        Whether the arrays came from the cache rather than a parse.
    """

    images: np.ndarray
    keypoints: np.ndarray
    columns: tuple
    lines: np.ndarray
    image_ids: np.ndarray = None
    source: Path = None
    skipped: tuple = field(default_factory=tuple)
    from_cache: bool = False

    def __len__(self):
        return len(self.images)

    @property
    def mask(self):
        """ndarray of bool, shape (N, K): which keypoints are present."""
        return ~np.isnan(self.keypoints)

    @property
    def complete(self):
        """ndarray of bool, shape (N,): rows with every keypoint present."""
        return self.mask.all(axis=1)

    def keypoints_in(self, columns=KEYPOINT_COLUMNS):
        """Keypoints with their columns in the given order, shape (N, len(columns))."""
        return self.keypoints[:, column_indices(self.columns, columns)]


def load_kaggle_csv(path, skip_bad_rows=False, use_cache=True):
    """Load a Kaggle-format CSV, validating every row.

    Parameters
    ----------
    path : str or Path
        ``training.csv`` or ``test.csv`` layout; plain, ``.gz``, or ``.zip``
        holding one CSV.
    skip_bad_rows : bool
        Leave out bad rows (listed in ``KaggleData.skipped``) instead of
        raising.
    use_cache : bool
        Reuse the parsed arrays from an earlier load of the same unchanged
        file (see :mod:`keypoints.data.cache`), and store them after a parse.

    Returns
    -------
    KaggleData

    Raises
    ------
    DataError
        The file is missing or unreadable, its header is wrong, or (unless
        ``skip_bad_rows``) any row is bad. The message names the file, the
        line and the column of the first few bad rows, and how many there are.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file. Put the Kaggle CSV there, or pass the path of one.")
    if use_cache:
        hit = cache.load(path, skip_bad_rows)
        if hit is not None:
            return _from_arrays(path, *hit)
    data = _parse_file(path, skip_bad_rows)
    if use_cache:
        cache.store(path, skip_bad_rows, _to_arrays(data))
    return data


def _parse_file(path, skip_bad_rows):
    raw = _read_bytes(path)
    if b'"' in raw:
        # No field of this format may hold a comma or a quote, so quotes are only decoration.
        raw = raw.replace(b'"', b"")
    header_end = raw.find(b"\n")
    columns = _check_header(path, raw[:header_end] if header_end >= 0 else raw)
    if header_end < 0 or header_end == len(raw) - 1:
        raise DataError(f"{path}: the file has a header but no data rows.")
    if not raw.endswith(b"\n"):
        raw += b"\n"
    rows = parse_rows(raw, columns, IMAGE_COLUMN, start=header_end)
    if rows.n_rows == 0:
        raise DataError(f"{path}: the file has a header but no data rows.")
    keypoint_columns = tuple(c for c in columns if c in KEYPOINT_COLUMNS)
    keypoints = (
        np.stack([rows.fields[c] for c in keypoint_columns], axis=1)
        if keypoint_columns
        else np.zeros((len(rows.lines), 0))
    )
    problems, keep = _check_keypoints(rows.lines, keypoints, keypoint_columns)
    if ID_COLUMN in columns:
        id_problems, id_ok = _check_ids(rows.lines, rows.fields[ID_COLUMN])
        problems += [p for p in id_problems if keep[np.searchsorted(rows.lines, p.line)]]
        keep &= id_ok
    problems = sorted(rows.problems + problems, key=lambda p: p.line)
    if problems and not skip_bad_rows:
        raise DataError(_describe_problems(path, problems, rows.n_rows))
    image_ids = None
    if ID_COLUMN in columns:
        image_ids = rows.fields[ID_COLUMN][keep].astype(np.int64)
    return KaggleData(
        images=rows.pixels[keep].reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE),
        keypoints=keypoints[keep].astype(np.float32),
        columns=keypoint_columns,
        lines=rows.lines[keep],
        image_ids=image_ids,
        source=path,
        skipped=tuple(problems),
    )


def _read_bytes(path):
    """The file's text as bytes, unpacked from gzip or zip, without a UTF-8 byte-order mark."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if len(names) != 1:
                    raise DataError(
                        f"{path}: expected one .csv inside the zip, found {len(names)} "
                        f"({', '.join(names) or 'none'}). Unzip it and pass the CSV."
                    )
                raw = archive.read(names[0])
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: cannot be read ({error}). Is it a complete Kaggle CSV?") from error
    if not raw or raw.isspace():
        raise DataError(f"{path}: the file is empty. Expected a Kaggle CSV with a header line.")
    return raw


def _check_header(path, header):
    """The column names of the header line, or a DataError saying what is wrong with them."""
    header = header.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    columns = [c.strip() for c in header.strip().split(",")]
    where = f"{path}, line 1 (header)"
    if IMAGE_COLUMN not in columns:
        raise DataError(
            f"{where}: no '{IMAGE_COLUMN}' column; the header has {_names(columns)}. "
            f"A Kaggle file has the 96x96 pixels in a column named '{IMAGE_COLUMN}'."
        )
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise DataError(f"{where}: column names repeat: {_names(duplicates)}.")
    known = set(KEYPOINT_COLUMNS) | {IMAGE_COLUMN, ID_COLUMN}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise DataError(
            f"{where}: unknown column {_names(unknown)}. Expected the 30 Kaggle keypoint "
            f"columns ({KEYPOINT_COLUMNS[0]} ... {KEYPOINT_COLUMNS[-1]}), "
            f"'{ID_COLUMN}' and '{IMAGE_COLUMN}'."
        )
    present = [c for c in KEYPOINT_COLUMNS if c in columns]
    if present and len(present) < len(KEYPOINT_COLUMNS):
        missing = [c for c in KEYPOINT_COLUMNS if c not in columns]
        raise DataError(
            f"{where}: {len(missing)} keypoint column(s) missing: {_names(missing)}. "
            f"A training file has all 30; leave a cell empty where a keypoint is missing."
        )
    return columns


def _check_keypoints(lines, keypoints, columns):
    """Problems for keypoints outside the frame, and a mask of the rows to keep, shape (N,)."""
    outside = (keypoints < 0) | (keypoints > IMAGE_SIZE)  # NaN compares False: missing is fine
    problems = [
        RowProblem(
            int(lines[i]),
            columns[j],
            f"{keypoints[i, j]:g} is outside the {IMAGE_SIZE}x{IMAGE_SIZE} frame (0 to {IMAGE_SIZE})",
        )
        for i, j in zip(*np.nonzero(outside))
        if j == np.argmax(outside[i])  # one problem per row: its first
    ]
    return problems, ~outside.any(axis=1)


def _check_ids(lines, ids):
    """Problems for image ids that are missing or not whole numbers, and a mask of the good ones."""
    ok = np.isfinite(ids) & (ids == np.round(ids))
    problems = [
        RowProblem(int(lines[i]), ID_COLUMN, "empty" if np.isnan(ids[i]) else f"{ids[i]:g} is not a whole number")
        for i in np.flatnonzero(~ok)
    ]
    return problems, ok


def _describe_problems(path, problems, n_rows):
    rows = "row is" if len(problems) == 1 else "rows are"
    return (
        f"{path}: {len(problems)} of {n_rows} data {rows} bad:\n{problem_lines(problems, SHOWN_PROBLEMS)}"
        + "\nFix these rows in the file, or pass --skip-bad-rows to leave them out (each is listed)."
    )


def _names(columns):
    return ", ".join(f"'{c}'" for c in columns)


def _to_arrays(data):
    arrays = {"images": data.images, "keypoints": data.keypoints, "lines": data.lines}
    if data.image_ids is not None:
        arrays["image_ids"] = data.image_ids
    meta = {"columns": list(data.columns), "skipped": [[p.line, p.column, p.message] for p in data.skipped]}
    return arrays, meta


def _from_arrays(path, arrays, meta):
    return KaggleData(
        images=arrays["images"],
        keypoints=arrays["keypoints"],
        columns=tuple(meta["columns"]),
        lines=arrays["lines"],
        image_ids=arrays.get("image_ids"),
        source=path,
        skipped=tuple(RowProblem(*p) for p in meta["skipped"]),
        from_cache=True,
    )
