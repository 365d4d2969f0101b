"""Vectorised parsing of a Kaggle-format CSV held in memory as bytes.

The ``Image`` column holds 9216 space-separated integers per row, so a
training file is about 230 MB of text. Tutorials split it row by row
(``np.fromstring(row, sep=' ')``), which takes about 10 s for the 7049-row
Kaggle file. Here the whole file is one ``uint8`` array: line and field
boundaries come from ``flatnonzero`` on newlines and commas, and the pixel
values from digit arithmetic at the end of every digit run, so the parse is a
handful of passes over the buffer. Only rows that the vectorised checks flag
are looked at one by one, to say exactly what is wrong with them.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from keypoints.data.schema import IMAGE_SIZE, N_PIXELS

_ZERO, _SPACE, _NEWLINE, _RETURN, _COMMA = 48, 32, 10, 13, 44


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row of a data file.

    Attributes
    ----------
    line : int
        Line number in the file (the header is line 1).
    column : str
        The column at fault, or ``"(row)"`` when the row's shape is wrong.
    message : str
        What is wrong, in words.
    """

    line: int
    column: str
    message: str

    def __str__(self):
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass
class ParsedRows:
    """The good rows of a file, and what is wrong with the others.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (N, 9216)
    fields : dict of str to ndarray of float64, shape (N,)
        Every column but ``Image``; empty cells are NaN.
    lines : ndarray of int64, shape (N,)
        Line number in the file of each good row.
    problems : list of RowProblem
        One entry per bad row (its first fault), in file order.
    n_rows : int
        Data rows in the file, good and bad (blank lines not counted).
    """

    pixels: np.ndarray
    fields: dict
    lines: np.ndarray
    problems: list
    n_rows: int


CHUNK_BYTES = 4 << 20
"""Rows are parsed in chunks of about this many bytes, so the temporaries stay
in cache and their memory is reused instead of faulted in afresh (the parse is
about 4x faster than over the whole 230 MB buffer at once)."""


def parse_rows(text, columns, image_column, start=0, first_line=2):
    """Parse the data rows of a Kaggle-format CSV.

    Parameters
    ----------
    text : bytes or bytearray
        The file's text, with no quote characters, ending with a newline.
    columns : list of str
        The header's column names, in file order.
    image_column : str
        Name of the column holding the pixels.
    start : int
        Offset in ``text`` of the newline that ends the header.
    first_line : int
        Line number in the file of the first line after ``start``.

    Returns
    -------
    ParsedRows
    """
    # Text from a newline to a newline makes every line start after one, and
    # keeps the look-behind of the digit arithmetic inside the buffer.
    if text[start : start + 1] != b"\n" or not text.endswith(b"\n"):
        raise ValueError("the rows must follow a newline and end with one")
    spans = []
    while start < len(text) - 1:
        stop = text.find(b"\n", min(start + CHUNK_BYTES, len(text) - 1))
        spans.append((start, stop + 1))
        start = stop
    # Line numbers need the line counts of the chunks before, which are cheap to get first.
    first_lines = first_line + np.cumsum([0] + [text.count(b"\n", a, b) - 1 for a, b in spans[:-1]])

    def parse(span, line):
        a, b = span
        piece = bytes(text[a:b])  # a bytearray's slices are bytearrays; the field parse wants bytes
        chunk = np.frombuffer(piece, dtype=np.uint8)
        return _parse_chunk(chunk, piece, int(line), columns, image_column)

    # NumPy lets go of the GIL inside its loops, so threads share the cores.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        chunks = list(pool.map(parse, spans, first_lines))
    return ParsedRows(
        pixels=np.concatenate([c.pixels for c in chunks]),
        fields={name: np.concatenate([c.fields[name] for c in chunks]) for name in chunks[0].fields},
        lines=np.concatenate([c.lines for c in chunks]),
        problems=[p for c in chunks for p in c.problems],
        n_rows=sum(c.n_rows for c in chunks),
    )


def _parse_chunk(buf, text, first_line, columns, image_column):
    """Parse whole lines; ``buf`` (and its copy ``text``) starts and ends with a newline."""
    newlines = np.flatnonzero(buf == _NEWLINE)
    starts, ends = newlines[:-1] + 1, newlines[1:].copy()
    ends -= buf[ends - 1] == _RETURN  # tolerate CRLF line ends
    line_numbers = first_line + np.arange(len(starts))
    nonblank = ends > starts
    starts, ends, line_numbers = starts[nonblank], ends[nonblank], line_numbers[nonblank]

    n_fields = len(columns)
    commas = np.flatnonzero(buf == _COMMA)
    first_comma = np.searchsorted(commas, starts)
    comma_counts = np.searchsorted(commas, ends) - first_comma
    shape_ok = comma_counts == n_fields - 1

    digits = buf - np.uint8(_ZERO)  # wraps for non-digits, so one compare finds digits
    is_digit = digits < 10
    digit_run_ends = np.flatnonzero(is_digit[:-1] & ~is_digit[1:])
    not_pixel_text = np.flatnonzero(~is_digit & (buf != _SPACE))

    rows = np.flatnonzero(shape_ok)
    comma_at = commas[first_comma[rows, None] + np.arange(n_fields - 1)]  # (n, n_fields - 1)
    field_starts = np.concatenate([starts[rows, None], comma_at + 1], axis=1)  # (n, n_fields)
    field_ends = np.concatenate([comma_at, ends[rows, None]], axis=1)
    j = columns.index(image_column)
    image_start, image_end = field_starts[:, j], field_ends[:, j]

    token_lo = np.searchsorted(digit_run_ends, image_start)
    token_count = np.searchsorted(digit_run_ends, image_end) - token_lo
    junk = np.searchsorted(not_pixel_text, image_end) - np.searchsorted(not_pixel_text, image_start)
    pixels_ok = (token_count == N_PIXELS) & (junk == 0)

    token_end = digit_run_ends[token_lo[pixels_ok, None] + np.arange(N_PIXELS)]  # (n, 9216)
    values = _digit_run_values(digits, is_digit)[token_end]
    in_range = (values <= 255).all(axis=1)
    good = rows[pixels_ok][in_range]
    pixels = values[in_range].astype(np.uint8)

    fields, bad_field = _parse_fields(
        text, columns, j, field_starts[pixels_ok][in_range], field_ends[pixels_ok][in_range]
    )
    keep = ~bad_field
    bad_rows = np.setdiff1d(np.arange(len(starts)), good[keep])
    problems = [_diagnose(text[starts[r] : ends[r]], int(line_numbers[r]), columns, image_column) for r in bad_rows]
    return ParsedRows(
        pixels=pixels[keep],
        fields={name: values_[keep] for name, values_ in fields.items()},
        lines=line_numbers[good[keep]],
        problems=problems,
        n_rows=len(starts),
    )


def _digit_run_values(digits, is_digit):
    """Value of the digit run that ends at each position; runs of 4 or more digits give 1000 or more.

    Computed over the whole chunk with shifted slices (contiguous, in cache),
    then read at the run ends; cheaper than three gathers at the run ends.

    Parameters
    ----------
    digits : ndarray of uint8, shape (L,)
        Each byte minus ``ord('0')`` (wrapped for non-digits).
    is_digit : ndarray of bool, shape (L,)

    Returns
    -------
    ndarray of uint16, shape (L,)
        Meaningful at the last digit of each run.
    """
    ones = digits * is_digit  # non-digits count as 0
    values = ones.astype(np.uint16)
    values[1:] += ones[:-1] * np.uint16(10)  # a non-digit before adds 0
    hundreds = ones[:-2] * np.uint16(100)
    hundreds *= is_digit[1:-1]  # only when the tens are a digit too
    values[2:] += hundreds
    four_or_more = is_digit[:-3] & is_digit[1:-2]
    four_or_more &= is_digit[2:-1]
    values[3:] += four_or_more * np.uint16(1000)
    return values


def _parse_fields(buf, columns, image_index, field_starts, field_ends):
    """Float values of every non-image column of the given rows, and which rows hold a bad one."""
    n = len(field_starts)
    fields, bad = {}, np.zeros(n, dtype=bool)
    for j, name in enumerate(columns):
        if j == image_index:
            continue
        text = np.array([buf[a:b] for a, b in zip(field_starts[:, j], field_ends[:, j])], dtype=object)
        column = np.full(n, np.nan)
        present = text != b""
        try:
            column[present] = np.asarray(text[present], dtype="S").astype(np.float64)
        except ValueError:
            for i in np.flatnonzero(present):
                try:
                    column[i] = float(text[i])
                except ValueError:
                    bad[i] = True
        bad |= np.isinf(column) | (present & np.isnan(column))
        fields[name] = column
    return fields, bad


def _diagnose(line, line_number, columns, image_column):
    """The first fault of one bad row, found by plain Python (only bad rows come here)."""
    text = line.decode("utf-8", errors="replace")
    parts = text.split(",")
    if [part.strip() for part in parts] == list(columns):
        return RowProblem(line_number, "(row)", "a repeated header line (the column names again); delete it")
    if len(parts) != len(columns):
        return RowProblem(line_number, "(row)", f"{len(parts)} comma-separated fields, expected {len(columns)}")
    for name, value in zip(columns, parts):
        if name == image_column:
            gap = next((k for k, c in enumerate(value) if c.isspace() and c != " "), None)
            if gap is not None:  # a tab, a no-break space...: say which, not only that the count is off
                after = len(value[:gap].split())
                how = " (`tr '\\t' ' ' < FILE > NEW.csv`)" if value[gap] == "\t" else ""
                return RowProblem(
                    line_number,
                    name,
                    f"pixels are separated by {_space_name(value[gap])} (first after pixel {after}); this format "
                    f"separates them by spaces: replace them with spaces{how}",
                )
            tokens = [token for token in value.split(" ") if token]
            if len(tokens) != N_PIXELS:
                return RowProblem(
                    line_number, name, f"{len(tokens)} pixel values, expected {N_PIXELS} ({IMAGE_SIZE}x{IMAGE_SIZE})"
                )
            for k, token in enumerate(tokens):
                if not token.isdigit() or not token.isascii():
                    return RowProblem(line_number, name, f"pixel {k + 1} is {_show(token)}, not a whole number 0-255")
                digits = token.lstrip("0") or "0"
                if len(digits) > 3:  # before int(): Python refuses to convert very long digit strings
                    shown = token if len(token) <= 20 else token[:20] + "..."
                    return RowProblem(line_number, name, f"pixel {k + 1} is {shown}, outside 0-255")
                if len(token) > 3:
                    return RowProblem(
                        line_number,
                        name,
                        f"pixel {k + 1} is {_show(token)}: expected a whole number 0-255 written with at most "
                        f"3 digits, as {int(token)}",
                    )
                if int(token) > 255:
                    return RowProblem(line_number, name, f"pixel {k + 1} is {token}, outside 0-255")
        elif value.strip():
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is None or not np.isfinite(number):
                return RowProblem(line_number, name, f"{_show(value)} is not a number")
    return RowProblem(line_number, "(row)", f"could not be parsed: {_show(text, 80)}")


_SPACES = {
    "\t": "tabs",
    "\r": "carriage returns",
    "\xa0": "no-break spaces (U+00A0)",
    "\v": "vertical tabs",
    "\f": "form feeds",
}


def _space_name(character):
    """A white-space character other than the space, in words (``\t`` -> ``tabs``)."""
    return _SPACES.get(character, f"the white-space character U+{ord(character):04X}")


def _show(text, limit=20):
    """``text`` quoted, shortened to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
