"""The CSV loader on real-format files mutated at random (cut lines, stray bytes, wrong counts, huge numbers, NaN
text) and on random rows: the documented arrays, or a DataError that says why; never another exception or a
warning."""

import gzip
import itertools

import numpy as np
import pytest
from fuzzing import FAST, LONG, keypoints_error_or_result
from hostile import kaggle_test_csv, labelled_csv
from hypothesis import example, given
from hypothesis import strategies as st

from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import IMAGE_SIZE, KEYPOINT_COLUMNS
from keypoints.errors import DataError

CELLS = [
    "",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "1e999",
    "-1",
    "96.0001",
    "0x10",
    "１２",  # full-width digits
    "9" * 400,
    " 12 ",
    "+5",
    "--5",
    "1,2",
    '"7"',
    "\x00",
    "\r",
    "é",
    "12.5.1",
    "4e-400",
    "0" * 30,
]
"""Field values a hostile file may hold in place of a number or of the pixels."""


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """The bytes of a small training-layout file (3 faces, one with missing keypoints) and a test-layout file."""
    folder = tmp_path_factory.mktemp("csv")
    training = labelled_csv(folder / "training.csv", n=3).read_bytes()
    lines = training.split(b"\n")
    lines[2] = b"," * 5 + lines[2].split(b",", 5)[-1]  # the second face misses its first five keypoints
    return {"training": b"\n".join(lines), "test": kaggle_test_csv(folder / "test.csv", n=2).read_bytes()}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("mutated")


COUNTER = itertools.count()


@st.composite
def mutations(draw):
    """A list of edits, each applied to the bytes in turn."""
    edit = st.one_of(
        st.tuples(st.just("cut"), st.floats(0, 1)),
        st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 50)),
        st.tuples(st.just("cell"), st.integers(0, 3), st.integers(0, 40), st.sampled_from(CELLS) | st.text(max_size=8)),
        st.tuples(st.just("drop cell"), st.integers(0, 3), st.integers(0, 40)),
        st.tuples(st.just("extra cell"), st.integers(0, 3), st.sampled_from(CELLS)),
        st.tuples(st.just("pixels"), st.integers(0, 3), st.sampled_from(["cut", "extra", "256", "-1", "1.5", "x"])),
        st.tuples(st.just("line"), st.sampled_from(["repeat header", "repeat row", "blank", "crlf", "bom", "quote"])),
    )
    return draw(st.lists(edit, min_size=1, max_size=4))


def mutate(data, edits):
    for name, *args in edits:
        if name == "cut":
            data = data[: int(args[0] * len(data))]
        elif name == "insert":
            at = int(args[0] * len(data))
            data = data[:at] + args[1] + data[at:]
        elif name == "delete":
            at = int(args[0] * len(data))
            data = data[:at] + data[at + args[1] :]
        elif name in ("cell", "drop cell", "extra cell", "pixels"):
            lines = data.split(b"\n")
            row = args[0] % len(lines)
            cells = lines[row].split(b",")
            if name == "cell":
                cells[args[1] % len(cells)] = args[2].encode("utf-8", "surrogatepass")
            elif name == "drop cell" and len(cells) > 1:
                del cells[args[1] % len(cells)]
            elif name == "extra cell":
                cells.insert(0, args[1].encode())
            elif name == "pixels":
                pixels = cells[-1].split(b" ")
                change = {"cut": pixels[:-7], "extra": pixels + [b"3"]}.get(args[1], [args[1].encode()] + pixels[1:])
                cells[-1] = b" ".join(change)
            lines[row] = b",".join(cells)
            data = b"\n".join(lines)
        elif name == "line":
            lines = data.split(b"\n")
            kind = args[0]
            if kind == "repeat header":
                lines.insert(2, lines[0])
            elif kind == "repeat row" and len(lines) > 1:
                lines.append(lines[1])
            elif kind == "blank":
                lines.insert(len(lines) // 2, b"")
            elif kind == "crlf":
                return b"\r\n".join(lines)
            elif kind == "bom":
                return b"\xef\xbb\xbf" + data
            elif kind == "quote":
                lines[-2 if len(lines) > 1 else 0] = b'"' + lines[-2 if len(lines) > 1 else 0] + b'"'
            data = b"\n".join(lines)
    return data


def check_loaded(path, skip_bad_rows):
    """The documented arrays, or a DataError with a message."""
    with keypoints_error_or_result() as refused:
        data = load_kaggle_csv(path, skip_bad_rows=skip_bad_rows, use_cache=False)
    if refused:
        assert isinstance(refused[0], DataError), refused[0]
        assert str(path.name) in str(refused[0]) or "line" in str(refused[0])
        return None
    count = len(data.images)
    assert count > 0 or skip_bad_rows
    assert data.images.shape == (count, 1, IMAGE_SIZE, IMAGE_SIZE) and data.images.dtype == np.uint8
    assert data.keypoints.dtype == np.float32 and data.keypoints.shape == (count, len(data.columns))
    assert set(data.columns) <= set(KEYPOINT_COLUMNS) and len(data.columns) in (0, len(KEYPOINT_COLUMNS))
    present = data.keypoints[~np.isnan(data.keypoints)]
    assert ((present >= 0) & (present <= IMAGE_SIZE)).all()
    assert data.lines.shape == (count,) and (np.diff(data.lines) > 0).all() and (data.lines >= 2).all()
    if data.image_ids is not None:
        assert data.image_ids.shape == (count,)
    if not skip_bad_rows:
        assert data.skipped == ()
    return data


def write(folder, data, gz):
    path = folder / f"m{next(COUNTER)}.csv{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(data, compresslevel=1) if gz else data)
    return path


def check_mutated(originals, folder, layout, edits, skip_bad_rows, gz):
    path = write(folder, mutate(originals[layout], edits), gz)
    check_loaded(path, skip_bad_rows)
    path.unlink()


@FAST
@given(
    layout=st.sampled_from(["training", "test"]),
    edits=mutations(),
    skip_bad_rows=st.booleans(),
    gz=st.booleans(),
)
@example(layout="training", edits=[("cell", 1, 0, "1e999")], skip_bad_rows=False, gz=False)
@example(layout="training", edits=[("cell", 1, 3, "nan")], skip_bad_rows=True, gz=False)
@example(layout="test", edits=[("cell", 1, 0, "12.5")], skip_bad_rows=True, gz=False)
@example(layout="training", edits=[("cut", 0.5)], skip_bad_rows=False, gz=True)
def test_the_loader_on_mutated_files(originals, folder, layout, edits, skip_bad_rows, gz):
    check_mutated(originals, folder, layout, edits, skip_bad_rows, gz)


@pytest.mark.slow
@LONG
@given(
    layout=st.sampled_from(["training", "test"]),
    edits=mutations(),
    skip_bad_rows=st.booleans(),
    gz=st.booleans(),
)
def test_the_loader_on_mutated_files_long(originals, folder, layout, edits, skip_bad_rows, gz):
    check_mutated(originals, folder, layout, edits, skip_bad_rows, gz)


rows = st.lists(
    st.lists(st.sampled_from(CELLS) | st.text(max_size=6) | st.floats().map(repr), min_size=0, max_size=33),
    min_size=1,
    max_size=4,
)


def check_random_rows(originals, folder, table, skip_bad_rows):
    header = originals["training"].split(b"\n", 1)[0]
    text = "\n".join(",".join(cells) for cells in table).encode("utf-8", "surrogatepass")
    path = write(folder, header + b"\n" + text + b"\n", gz=False)
    check_loaded(path, skip_bad_rows)
    path.unlink()


@FAST
@given(table=rows, skip_bad_rows=st.booleans())
def test_the_loader_on_random_rows(originals, folder, table, skip_bad_rows):
    check_random_rows(originals, folder, table, skip_bad_rows)


@pytest.mark.slow
@LONG
@given(table=rows, skip_bad_rows=st.booleans())
def test_the_loader_on_random_rows_long(originals, folder, table, skip_bad_rows):
    check_random_rows(originals, folder, table, skip_bad_rows)
