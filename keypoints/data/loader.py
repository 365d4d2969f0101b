"""Loading and validating the Kaggle files ``training.csv`` and ``test.csv`` (plain, ``.gz`` or ``.zip``)."""

import gzip
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keypoints.atomic import missing_reason, show
from keypoints.data import cache
from keypoints.data.parse import RowProblem, parse_rows
from keypoints.data.schema import (
    ID_COLUMN,
    IMAGE_COLUMN,
    IMAGE_SIZE,
    KEYPOINT_COLUMNS,
    column_indices,
)
from keypoints.errors import DataError, InputTooLargeError, problem_lines

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


def load_kaggle_csv(path, skip_bad_rows=False, use_cache=True, skip_option="--skip-bad-rows"):
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
    skip_option : str or None
        The caller's option that sets ``skip_bad_rows``, which the message about bad rows advises;
        None for a caller that has none (the message then says only to fix the rows).

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
    path = check_csv_path(path)
    if use_cache:
        hit = cache.load(path, skip_bad_rows)
        if hit is not None:
            return _from_arrays(path, *hit)
    data = _parse_file(path, skip_bad_rows, skip_option)
    if use_cache:
        cache.store(path, skip_bad_rows, _to_arrays(data))
    return data


def check_csv_path(path):
    """Refuse, before anything reads it, a path that is not a regular file, saying what it is instead.

    Returns
    -------
    Path

    Raises
    ------
    DataError
        A folder (naming a CSV in it), a named pipe, a device, a symbolic link to nothing or a link loop,
        or no such file.
    """
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.name.lower().endswith((".csv", ".csv.gz", ".zip")))
        raise DataError(
            f"{show(path)}: a folder, not a CSV file. Pass the file itself"
            + (f", for example {show(path / found[0])}." if found else " (none of .csv, .csv.gz or .zip is in it).")
        )
    if not path.is_file() and (path.exists() or path.is_symlink()):
        raise DataError(f"{show(path)}: {missing_reason(path)}; pass the Kaggle CSV itself.")
    if not path.is_file():
        raise DataError(f"{show(path)}: no such file. Put the Kaggle CSV there, or pass the path of one.")
    return path


def _parse_file(path, skip_bad_rows, skip_option="--skip-bad-rows"):
    raw = _read_bytes(path)
    _check_encoding(path, raw)
    if b'"' in raw:
        # No field of this format may hold a comma or a quote, so quotes are only decoration.
        raw = raw.replace(b'"', b"")
    header_end = raw.find(b"\n")
    columns = _check_header(path, raw[:header_end] if header_end >= 0 else raw)
    if header_end < 0 or header_end == len(raw) - 1:
        raise DataError(f"{show(path)}: the file has a header but no data rows.")
    if not raw.endswith(b"\n"):
        raw += b"\n"
    rows = parse_rows(raw, columns, IMAGE_COLUMN, start=header_end)
    if rows.n_rows == 0:
        raise DataError(f"{show(path)}: the file has a header but no data rows.")
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
        raise DataError(_describe_problems(path, problems, rows.n_rows, skip_option))
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


MAX_CSV_BYTES = 2 << 30
"""Most bytes a CSV may hold once unpacked (2 GiB); ``KEYPOINTS_MAX_CSV_BYTES`` sets another limit.

A compressed file is read up to this many bytes and refused past it, so a small
``.gz`` that unpacks to many gigabytes fails with a message instead of taking
all memory; see docs/decisions/0039-bounded-input-unpacked-csv-size.md."""


def max_csv_bytes():
    """The unpacked-size limit in force: ``$KEYPOINTS_MAX_CSV_BYTES`` when set to a whole number, else the default."""
    setting = os.environ.get("KEYPOINTS_MAX_CSV_BYTES", "").strip()
    if setting:
        try:
            return max(int(setting), 1)
        except ValueError:
            raise DataError(
                f"KEYPOINTS_MAX_CSV_BYTES={setting[:40]!r} is not a whole number of bytes; "
                "unset it or set it to a number such as 4000000000"
            ) from None
    return MAX_CSV_BYTES


READ_CHUNK = 16 << 20
"""Bytes read (and unpacked) at a time: the text grows by this much until the file ends or the limit is passed."""


def _read_bytes(path):
    """The file's text as bytes, unpacked from gzip or zip, at most ``max_csv_bytes()`` of them.

    The text is read in ``READ_CHUNK`` pieces, so nothing larger than the file's own text (and one piece) is ever
    asked of memory; running out of it on the way is said, with the limit, instead of a ``MemoryError``.
    """
    limit = max_csv_bytes()
    text = bytearray()
    try:
        with _open_text(path) as handle:
            while len(text) <= limit:
                piece = handle.read(min(READ_CHUNK, limit + 1 - len(text)))
                if not piece:
                    break
                text += piece
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError) as error:
        # RuntimeError: an encrypted zip member; NotImplementedError: a compression zipfile lacks
        raise DataError(f"{show(path)}: cannot be read ({error}). Is it a complete Kaggle CSV?") from error
    except MemoryError:
        size = len(text)
        del text
        raise InputTooLargeError(
            f"{show(path)}: memory ran out after {size:,} bytes of its text (once unpacked), before the "
            f"{limit:,}-byte limit for a CSV: the file is larger than this machine can hold (the Kaggle "
            "training.csv is about 240 MB). Check that it is the right file, or lower the limit with "
            "KEYPOINTS_MAX_CSV_BYTES=<bytes> to stop earlier."
        ) from None
    if len(text) > limit:
        raise InputTooLargeError(
            f"{show(path)}: holds more than {limit:,} bytes of text once unpacked, the limit for a CSV "
            f"(the Kaggle training.csv is about 240 MB). If the file is right, raise the limit with "
            f"KEYPOINTS_MAX_CSV_BYTES=<bytes>."
        )
    raw = bytes(text) if len(text) < READ_CHUNK else text  # a large text stays one buffer: no second copy
    if not raw or raw.isspace():
        raise DataError(f"{show(path)}: the file is empty. Expected a Kaggle CSV with a header line.")
    return raw


def _open_text(path):
    """A binary reader of the CSV's text: the file itself, or unpacked from a ``.gz`` or a one-CSV ``.zip``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if n.lower().endswith(".csv") and not _zip_litter(n)]
        if len(names) != 1:
            archive.close()
            raise DataError(
                f"{show(path)}: expected one .csv inside the zip, found {len(names)} "
                f"({_clip(', '.join(names)) or 'none'}). Unzip it and pass the CSV."
            )
        return _ZipMember(archive, names[0])
    return open(path, "rb")


class _ZipMember:
    """One member of a zip opened for reading, closing the archive with it."""

    def __init__(self, archive, name):
        self.archive, self.handle = archive, archive.open(name)

    def read(self, size):
        return self.handle.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()
        self.archive.close()


def _zip_litter(name):
    """Whether a zip member is macOS metadata (``__MACOSX/``, ``._name``) rather than a file of the archive."""
    parts = name.split("/")
    return parts[0] == "__MACOSX" or parts[-1].startswith("._")


def _check_encoding(path, raw):
    """Refuse text that is not UTF-8 or ASCII with Unix or Windows line ends, naming what it is instead."""
    head = raw[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") > len(head) // 4:
        raise DataError(
            f"{show(path)}: the file is UTF-16 (or UTF-32) text, not UTF-8. Save it as UTF-8 "
            "(in a spreadsheet: CSV UTF-8; or `iconv -f UTF-16 -t UTF-8 FILE > NEW.csv`)."
        )
    if b"\x00" in head:
        raise DataError(f"{show(path)}: holds NUL bytes, so it is not a text CSV; is it the right file?")
    if b"\n" not in raw and b"\r" in raw:
        raise DataError(
            f"{show(path)}: its lines end with a carriage return alone (CR, old Mac line ends); this reader "
            "needs LF or CRLF line ends. Convert it, e.g. `tr '\\r' '\\n' < FILE > NEW.csv`."
        )


def _check_header(path, header):
    """The column names of the header line, or a DataError saying what is wrong with them."""
    header = header.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    columns = [c.strip() for c in header.strip().split(",")]
    where = f"{show(path)}, line 1 (header)"
    if IMAGE_COLUMN not in columns and any(len(c.split()) > 100 for c in columns):
        raise DataError(
            f"{where}: holds pixel values, not column names: the header line is missing. Add the "
            f"Kaggle header as line 1 (the keypoint columns and '{IMAGE_COLUMN}', separated by commas)."
        )
    if IMAGE_COLUMN not in columns:
        raise DataError(
            f"{where}: no '{IMAGE_COLUMN}' column; the header has {_names(columns)}. "
            f"A Kaggle file has the 96x96 pixels in a column named '{IMAGE_COLUMN}'."
        )
    duplicates = sorted(name for name, count in Counter(columns).items() if count > 1)
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


MAX_IMAGE_ID = 2**53
"""The largest image id: past it a float64 no longer holds every whole number, and the int64 ids would not be exact."""


def _check_ids(lines, ids):
    """Problems for image ids that are missing, not whole numbers or too large, and a mask of the good ones."""
    whole = np.isfinite(ids) & (ids == np.round(ids))
    ok = whole & (np.abs(ids) <= MAX_IMAGE_ID)

    def problem(i):
        if np.isnan(ids[i]):
            return "empty"
        if not whole[i]:
            return f"{ids[i]:g} is not a whole number"
        return f"{ids[i]:g} is past the largest image id, {MAX_IMAGE_ID}"

    return [RowProblem(int(lines[i]), ID_COLUMN, problem(i)) for i in np.flatnonzero(~ok)], ok


def _describe_problems(path, problems, n_rows, skip_option="--skip-bad-rows"):
    rows = "row is" if len(problems) == 1 else "rows are"
    advice = f", or pass {skip_option} to leave them out (each is listed)" if skip_option else ""
    return (
        f"{show(path)}: {len(problems)} of {n_rows} data {rows} bad:\n{problem_lines(problems, SHOWN_PROBLEMS)}"
        + f"\nFix these rows in the file{advice}."
    )


def _names(columns, limit=80):
    """Column names quoted and joined, cut to about ``limit`` characters (a bad header may be one huge line)."""
    return _clip(", ".join(f"'{c}'" for c in columns), limit)


def _clip(text, limit=80):
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit:,} more characters)"


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
