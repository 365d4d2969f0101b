"""Messages are short and true: bad lines quoted short, encodings and line ends named, folders called folders."""

import subprocess
import sys

import pytest
from hostile import labelled_csv

from keypoints.data.loader import load_kaggle_csv
from keypoints.errors import DataError


def error_of(path):
    with pytest.raises(DataError) as caught:
        load_kaggle_csv(path, use_cache=False)
    return str(caught.value)


def test_a_million_character_line_is_quoted_short(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("x" * 1_000_000 + "\n1\n")
    message = error_of(header)
    assert len(message) < 600 and "(999,922 more characters)" in message
    path = labelled_csv(tmp_path / "t.csv")
    lines = path.read_text().splitlines()
    lines[2] = "y" * 1_000_000 + lines[2][lines[2].index(",") :]
    path.write_text("\n".join(lines) + "\n")
    message = error_of(path)
    assert (
        len(message) < 600 and "line 3, column left_eye_center_x: 'yyyyyyyyyyyyyyyyyyyy...' is not a number" in message
    )


def test_utf16_is_named(tmp_path):
    source = labelled_csv(tmp_path / "t.csv", n=2)
    path = tmp_path / "utf16.csv"
    path.write_bytes(source.read_text().encode("utf-16"))
    message = error_of(path)
    assert "the file is UTF-16 (or UTF-32) text, not UTF-8" in message and "\x00" not in message


def test_cr_only_line_ends_are_named(tmp_path):
    source = labelled_csv(tmp_path / "t.csv", n=2)
    path = tmp_path / "mac.csv"
    path.write_bytes(source.read_bytes().replace(b"\n", b"\r"))
    message = error_of(path)
    assert "its lines end with a carriage return alone (CR" in message and len(message) < 400


def test_a_folder_is_called_a_folder(tmp_path):
    labelled_csv(tmp_path / "training.csv", n=1)
    assert (
        error_of(tmp_path)
        == f"{tmp_path}: a folder, not a CSV file. Pass the file itself, for example {tmp_path / 'training.csv'}."
    )


def test_a_four_digit_pixel_says_what_is_expected(tmp_path):
    path = labelled_csv(tmp_path / "t.csv", n=2)
    lines = path.read_text().splitlines()
    head, pixels = lines[1].rsplit(",", 1)
    lines[1] = head + ",0000" + pixels[pixels.index(" ") :]
    path.write_text("\n".join(lines) + "\n")
    assert (
        "line 2, column Image: pixel 1 is '0000': expected a whole number 0-255 written with at most 3 digits, as 0"
        in error_of(path)
    )


def test_a_repeated_header_line_is_named_as_such(tmp_path):
    path = labelled_csv(tmp_path / "t.csv", n=3)
    lines = path.read_text().splitlines()
    lines.insert(2, lines[0])
    path.write_text("\n".join(lines) + "\n")
    message = error_of(path)
    assert "line 3, column (row): a repeated header line (the column names again); delete it" in message
    assert "is not a number" not in message


def test_a_closed_pipe_ends_quietly(tmp_path):
    path = labelled_csv(tmp_path / "t.csv", n=3)
    run = subprocess.Popen(
        [sys.executable, "-m", "keypoints", "check", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    run.stdout.close()  # as `| head -0` would, before anything is written
    errors = run.stderr.read().decode()
    assert run.wait() == 141, errors
    assert errors == ""


def test_a_folder_given_as_a_model_or_lookup_table_is_called_a_folder(tmp_path, capsys):
    from keypoints.cli import main

    assert main(["evaluate", "--data", str(tmp_path / "t.csv"), "--model", str(tmp_path)]) == 1
    assert f"error: {tmp_path}: a folder, not a model file" in capsys.readouterr().err
    from keypoints.submit import read_lookup

    with pytest.raises(DataError, match="a folder, not a file. Pass the Kaggle IdLookupTable.csv with --lookup"):
        read_lookup(tmp_path, [1], ["left_eye_center_x"])


def test_a_device_is_not_read_as_a_file():
    from keypoints.errors import ImageError
    from keypoints.predict.inputs.read import read_photo

    with pytest.raises(DataError, match="/dev/zero: a device, not a file; pass the Kaggle CSV itself"):
        load_kaggle_csv("/dev/zero")
    with pytest.raises(ImageError, match="/dev/zero: not a regular file"):
        read_photo("/dev/zero")
