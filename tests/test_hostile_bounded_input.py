"""Bounded input: photo sizes checked from the header, unpacked CSV size limited, row ranges bounded, any file name."""

import gzip
import os
import struct
import zipfile
import zlib

import cv2
import numpy as np
import pandas as pd
import pytest
from hostile import mean_model, photo

from keypoints.cli import main
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import IMAGE_COLUMN, KEYPOINT_COLUMNS
from keypoints.errors import DataError, ImageError, InputTooLargeError
from keypoints.explain.sources import parse_csv_spec
from keypoints.predict import predict_photos
from keypoints.predict.inputs.read import MAX_PIXELS, image_size, read_photo


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return mean_model(tmp_path_factory.mktemp("model") / "mean.pt")


def huge_png(width=50000, height=50000):
    """128 bytes: a PNG signature and a header claiming ``width`` x ``height`` RGB pixels, then junk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    data = b"\x89PNG\r\n\x1a\n" + chunk
    return data + b"\x00" * (128 - len(data))


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp", ".tif"])
def test_the_header_gives_the_true_size_of_each_format(suffix):
    done, data = cv2.imencode(suffix, np.zeros((23, 37, 3), np.uint8))
    assert done and image_size(data.tobytes()) == (37, 23)


def test_a_128_byte_png_claiming_50000x50000_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(huge_png())
    assert path.stat().st_size == 128
    with pytest.raises(ImageError, match=r"bomb\.png: its header says 50000x50000 pixels \(2,500 megapixels\)"):
        read_photo(path)


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_huge_jpeg_and_bmp_headers_are_refused_too(tmp_path, suffix):
    data = bytearray(cv2.imencode(suffix, np.zeros((23, 37, 3), np.uint8))[1].tobytes())
    if suffix == ".bmp":
        data[18:26] = struct.pack("<ii", 20000, 20000)
    else:
        frame = data.find(b"\xff\xc0")
        data[frame + 5 : frame + 9] = struct.pack(">HH", 20000, 20000)
    path = tmp_path / f"big{suffix}"
    path.write_bytes(bytes(data))
    assert image_size(bytes(data)) == (20000, 20000) and 20000 * 20000 > MAX_PIXELS
    with pytest.raises(ImageError, match="20000x20000 pixels"):
        read_photo(path)


def test_one_huge_photo_does_not_end_the_batch(tmp_path, model):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a_bomb.png").write_bytes(huge_png())
    photo(tmp_path / "in" / "b.jpg")
    summary = predict_photos([tmp_path / "in"], model, tmp_path / "out")
    assert [r.path.name for r in summary.unreadable] == ["a_bomb.png"]
    assert [r.path.name for r in summary.read] == ["b.jpg"] and summary.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".keypoints-results",
        "b.jpg",
        "index.html",
        "keypoints.csv",
    ]
    assert "megapixels" in (tmp_path / "out" / "index.html").read_text()


def _header():
    return (",".join([*KEYPOINT_COLUMNS, IMAGE_COLUMN]) + "\n").encode()


def test_a_gzip_bomb_stops_at_the_unpacked_limit(tmp_path, monkeypatch):
    path = tmp_path / "training.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(_header())
        for _ in range(4):
            handle.write(b"0" * (1 << 20))
    assert path.stat().st_size < 20_000
    monkeypatch.setenv("KEYPOINTS_MAX_CSV_BYTES", "1000000")
    with pytest.raises(InputTooLargeError, match=r"more than 1,000,000 bytes of text once unpacked"):
        load_kaggle_csv(path, use_cache=False)


def test_a_zip_bomb_stops_at_the_limit_and_a_bad_limit_is_named(tmp_path, monkeypatch):
    path = tmp_path / "training.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("training.csv", _header() + b"0" * (3 << 20))
    monkeypatch.setenv("KEYPOINTS_MAX_CSV_BYTES", "1000000")
    with pytest.raises(InputTooLargeError, match="KEYPOINTS_MAX_CSV_BYTES"):
        load_kaggle_csv(path, use_cache=False)
    monkeypatch.setenv("KEYPOINTS_MAX_CSV_BYTES", "lots")
    with pytest.raises(DataError, match="KEYPOINTS_MAX_CSV_BYTES='lots' is not a whole number"):
        load_kaggle_csv(path, use_cache=False)


def test_a_huge_row_range_is_refused_before_it_is_built():
    with pytest.raises(DataError, match="asks for more than 10000 rows"):
        parse_csv_spec("training.csv:1-999999999")
    assert parse_csv_spec("training.csv:2-4,9") == (parse_csv_spec("training.csv:1")[0], [2, 3, 4, 9])


def test_a_photo_name_that_is_not_utf8_is_read_written_and_printed(tmp_path, model, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.jpg")
    photo(folder / name)
    assert main(["predict", str(folder), "--model", str(model), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "caf\\xe9.jpg: 0 faces" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".keypoints-results",
        "caf\ufffd.jpg",
        "index.html",
        "keypoints.csv",
    ]
    table = pd.read_csv(tmp_path / "out" / "keypoints.csv")
    assert list(table.columns[:2]) == ["file", "face"] and table.empty
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'src="caf%EF%BF%BD.jpg"' in page and "caf\\xe9.jpg" in page
