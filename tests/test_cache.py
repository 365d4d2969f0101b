"""The cache of parsed arrays: a hit returns the same arrays, any change to the file is a miss."""

import os

import numpy as np

from keypoints.data.loader import load_kaggle_csv
from keypoints.data.writer import write_kaggle_csv


def make_file(path, n=6, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 1, 96, 96), dtype=np.uint8)
    return write_kaggle_csv(path, images, rng.uniform(10, 80, (n, 30)).round(3)), images


def test_second_load_comes_from_the_cache_with_equal_arrays(tmp_path):
    path, images = make_file(tmp_path / "training.csv")
    first = load_kaggle_csv(path)
    second = load_kaggle_csv(path)
    assert not first.from_cache and second.from_cache
    np.testing.assert_array_equal(second.images, images)
    np.testing.assert_array_equal(second.keypoints, first.keypoints)
    assert second.columns == first.columns and second.lines.tolist() == first.lines.tolist()


def test_a_changed_file_is_parsed_again(tmp_path):
    path, _ = make_file(tmp_path / "training.csv", n=6)
    load_kaggle_csv(path)
    make_file(path, n=7, seed=1)
    again = load_kaggle_csv(path)
    assert not again.from_cache and len(again) == 7


def test_an_edit_that_keeps_size_and_time_is_still_seen(tmp_path):
    path, images = make_file(tmp_path / "training.csv")
    load_kaggle_csv(path)
    status = path.stat()
    text = path.read_bytes()
    last_pixel = text.rstrip(b"\n").rsplit(b" ", 1)[1]
    edited = text[: -len(last_pixel) - 1] + (b"9" * len(last_pixel)) + b"\n"
    assert len(edited) == len(text) and edited != text
    path.write_bytes(edited)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    again = load_kaggle_csv(path)
    assert not again.from_cache
    assert again.images[-1, 0, -1, -1] == int(b"9" * len(last_pixel))


def test_skipping_bad_rows_is_cached_apart_and_keeps_its_list(tmp_path):
    path, _ = make_file(tmp_path / "training.csv")
    lines = path.read_text().splitlines()
    lines[3] = "x" + lines[3]
    path.write_text("\n".join(lines) + "\n")
    first = load_kaggle_csv(path, skip_bad_rows=True)
    second = load_kaggle_csv(path, skip_bad_rows=True)
    assert second.from_cache and len(second) == 5
    assert [str(p) for p in second.skipped] == [str(p) for p in first.skipped]
    assert second.skipped[0].line == 4


def test_an_unwritable_cache_only_costs_speed(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("KEYPOINTS_CACHE_DIR", str(blocker / "cache"))
    path, images = make_file(tmp_path / "training.csv")
    np.testing.assert_array_equal(load_kaggle_csv(path).images, images)
    assert not load_kaggle_csv(path).from_cache
