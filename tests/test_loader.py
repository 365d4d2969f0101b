"""The Kaggle CSV loader: good files in every packing, each kind of bad row, and the CLI's error block."""

import gzip
import re
import zipfile

import numpy as np
import pytest

from keypoints.cli import main
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.writer import write_kaggle_csv
from keypoints.errors import DataError


def make_faces(n=10, seed=1):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 1, 96, 96), dtype=np.uint8)
    keypoints = rng.uniform(0, 96, (n, 30)).round(4)
    keypoints[n // 2 :, 4:] = np.nan  # like most Kaggle rows: only 4 keypoints
    return images, keypoints


@pytest.fixture
def good_csv(tmp_path):
    images, keypoints = make_faces()
    return write_kaggle_csv(tmp_path / "training.csv", images, keypoints), images, keypoints


def lines_of(path):
    return path.read_text().splitlines()


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def replace_field(line, index, value):
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


def replace_first_pixel(line, value):
    keypoints, pixels = line.rsplit(",", 1)
    return keypoints + "," + value + " " + pixels.split(" ", 1)[1]


def test_good_file_keeps_every_row_and_value(good_csv):
    path, images, keypoints = good_csv
    data = load_kaggle_csv(path, use_cache=False)
    assert data.images.shape == (10, 1, 96, 96) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images, images)
    assert data.keypoints.shape == (10, 30)
    np.testing.assert_allclose(data.keypoints, keypoints, rtol=1e-6)  # NaN where NaN
    assert data.columns == KEYPOINT_COLUMNS
    assert data.mask.sum() == 5 * 30 + 5 * 4
    assert data.complete.tolist() == [True] * 5 + [False] * 5
    assert data.lines.tolist() == list(range(2, 12))
    assert data.skipped == ()


def test_gzip_and_zip_read_the_same(good_csv, tmp_path):
    path, images, _ = good_csv
    gz = tmp_path / "training.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    zipped = tmp_path / "training.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(path, "training.csv")
    for packed in (gz, zipped):
        data = load_kaggle_csv(packed, use_cache=False)
        np.testing.assert_array_equal(data.images, images)


def test_crlf_quotes_and_byte_order_mark_are_tolerated(good_csv, tmp_path):
    path, images, keypoints = good_csv
    lines = lines_of(path)
    quoted = [",".join(f'"{f}"' for f in line.split(",")) for line in lines]
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(quoted).encode() + b"\r\n")
    data = load_kaggle_csv(odd, use_cache=False)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_allclose(data.keypoints, keypoints, rtol=1e-6)


def test_keypoint_columns_in_another_order_keep_their_names(good_csv, tmp_path):
    path, _, keypoints = good_csv
    lines = lines_of(path)
    order = list(range(29, -1, -1)) + [30]
    swapped = [",".join(np.array(line.split(","), dtype=object)[order]) for line in lines]
    data = load_kaggle_csv(write_lines(tmp_path / "swapped.csv", swapped), use_cache=False)
    assert data.columns == tuple(reversed(KEYPOINT_COLUMNS))
    np.testing.assert_allclose(data.keypoints_in(KEYPOINT_COLUMNS), keypoints, rtol=1e-6)


def test_test_layout_has_ids_and_no_keypoints(tmp_path):
    images, _ = make_faces(4)
    path = write_kaggle_csv(tmp_path / "test.csv", images, None, image_ids=[7, 8, 9, 10])
    data = load_kaggle_csv(path, use_cache=False)
    assert data.keypoints.shape == (4, 0)
    assert data.image_ids.tolist() == [7, 8, 9, 10]
    np.testing.assert_array_equal(data.images, images)


@pytest.mark.parametrize(
    "value, message",
    [("1e308", "1e+308 is past the largest image id"), ("2.5", "2.5 is not a whole number"), ("", "empty")],
)
def test_an_image_id_that_is_not_a_whole_number_within_range_is_named(tmp_path, value, message):
    images, _ = make_faces(3)
    path = write_kaggle_csv(tmp_path / "test.csv", images, None, image_ids=[7, 8, 9])
    lines = path.read_text().splitlines()
    lines[2] = value + lines[2][lines[2].index(",") :]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=f"line 3.*ImageId.*{re.escape(message)}"):
        load_kaggle_csv(path, use_cache=False)
    kept = load_kaggle_csv(path, skip_bad_rows=True, use_cache=False)
    assert kept.image_ids.tolist() == [7, 9]


@pytest.mark.parametrize(
    "line_index, edit, column, message",
    [
        (3, lambda row: row + " 17", "Image", "9217 pixel values, expected 9216 (96x96)"),
        (3, lambda row: row.rsplit(" ", 1)[0], "Image", "9215 pixel values, expected 9216 (96x96)"),
        (4, lambda row: replace_first_pixel(row, "12.5"), "Image", "pixel 1 is '12.5', not a whole number 0-255"),
        (4, lambda row: replace_first_pixel(row, "-3"), "Image", "pixel 1 is '-3', not a whole number 0-255"),
        (5, lambda row: replace_first_pixel(row, "256"), "Image", "pixel 1 is 256, outside 0-255"),
        (5, lambda row: replace_first_pixel(row, "1000"), "Image", "pixel 1 is 1000, outside 0-255"),
        (6, lambda row: replace_field(row, 2, "abc"), "right_eye_center_x", "'abc' is not a number"),
        (7, lambda row: replace_field(row, 1, "101.5"), "left_eye_center_y", "101.5 is outside the 96x96 frame"),
        (8, lambda row: replace_field(row, 0, "-0.5"), "left_eye_center_x", "-0.5 is outside the 96x96 frame"),
        (9, lambda row: row.split(",", 1)[1], "(row)", "30 comma-separated fields, expected 31"),
    ],
)
def test_each_bad_row_is_named_by_line_and_column(good_csv, tmp_path, line_index, edit, column, message):
    path, _, _ = good_csv
    lines = lines_of(path)
    lines[line_index] = edit(lines[line_index])
    bad = write_lines(tmp_path / "bad.csv", lines)
    with pytest.raises(DataError) as caught:
        load_kaggle_csv(bad, use_cache=False)
    text = str(caught.value)
    assert f"{bad}: 1 of 10 data row is bad:" in text
    assert f"line {line_index + 1}, column {column}: {message}" in text
    assert "--skip-bad-rows" in text


def test_many_bad_rows_are_counted_and_the_first_few_shown(good_csv, tmp_path):
    path, _, _ = good_csv
    lines = lines_of(path)
    for i in range(1, 9):
        lines[i] = replace_field(lines[i], 0, "oops")
    bad = write_lines(tmp_path / "bad.csv", lines)
    with pytest.raises(DataError) as caught:
        load_kaggle_csv(bad, use_cache=False)
    text = str(caught.value)
    assert "8 of 10 data rows are bad" in text
    assert [f"line {n}," in text for n in range(2, 10)] == [True] * 5 + [False] * 3
    assert "... and 3 more" in text


def test_skip_bad_rows_keeps_the_good_ones_and_lists_the_others(good_csv, tmp_path):
    path, images, _ = good_csv
    lines = lines_of(path)
    lines[2] = replace_field(lines[2], 5, "x")
    lines[7] = lines[7].rsplit(" ", 1)[0]
    data = load_kaggle_csv(write_lines(tmp_path / "bad.csv", lines), skip_bad_rows=True, use_cache=False)
    assert len(data) == 8
    assert data.lines.tolist() == [2, 4, 5, 6, 7, 9, 10, 11]
    np.testing.assert_array_equal(data.images, images[[0, 2, 3, 4, 5, 7, 8, 9]])
    assert [(p.line, p.column) for p in data.skipped] == [(3, "left_eye_inner_corner_y"), (8, "Image")]


@pytest.mark.parametrize(
    "header_edit, message",
    [
        (lambda h: h.replace(",Image", ",Pixels"), "line 1 (header): no 'Image' column"),
        (lambda h: h.replace("nose_tip_x,", ""), "1 keypoint column(s) missing: 'nose_tip_x'"),
        (lambda h: h.replace("nose_tip_x", "nose_x"), "unknown column 'nose_x'"),
    ],
)
def test_bad_headers_are_refused(good_csv, tmp_path, header_edit, message):
    path, _, _ = good_csv
    lines = lines_of(path)
    lines[0] = header_edit(lines[0])  # the header is checked before any row is read
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_kaggle_csv(write_lines(tmp_path / "bad.csv", lines), use_cache=False)


def test_missing_empty_and_headless_files_are_refused(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_kaggle_csv(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        load_kaggle_csv(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text(",".join(KEYPOINT_COLUMNS) + ",Image\n")
    with pytest.raises(DataError, match="no data rows"):
        load_kaggle_csv(tmp_path / "header.csv")
    (tmp_path / "broken.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot be read"):
        load_kaggle_csv(tmp_path / "broken.csv.gz")


def test_cli_prints_one_error_block_without_traceback(good_csv, tmp_path, capsys):
    path, _, _ = good_csv
    lines = lines_of(path)
    lines[4] = replace_field(lines[4], 3, "nan?")
    bad = write_lines(tmp_path / "bad.csv", lines)
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: 1 of 10 data row is bad:")
    assert "line 5, column right_eye_center_y: 'nan?' is not a number" in err
    assert "Traceback" not in err

    assert main(["check", str(bad), "--skip-bad-rows"]) == 0
    captured = capsys.readouterr()
    assert "skipped line 5, column right_eye_center_y: 'nan?' is not a number" in captured.err
    assert "9 faces" in captured.out


def test_vectorised_parse_matches_a_plain_python_parse(tmp_path):
    """Pixel values of every width (0, 7, 42, 255) and keypoints in every notation come out exact."""
    rng = np.random.default_rng(5)
    images = rng.choice(np.array([0, 7, 42, 99, 100, 255], dtype=np.uint8), size=(6, 1, 96, 96))
    keypoints = rng.uniform(0, 96, (6, 30))
    path = write_kaggle_csv(tmp_path / "t.csv", images, keypoints)
    lines = lines_of(path)
    lines[1] = replace_field(lines[1], 0, "5e1")  # still a number
    write_lines(path, lines)
    data = load_kaggle_csv(path, use_cache=False)
    expected = np.array([[int(v) for v in line.rsplit(",", 1)[1].split()] for line in lines[1:]])
    np.testing.assert_array_equal(data.images.reshape(6, -1), expected)
    assert data.keypoints[0, 0] == 50.0
