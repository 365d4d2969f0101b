"""No quiet wrong results: macOS zips read, edits seen by the cache, empty choices and unlabelled files refused."""

import os
import re
import zipfile

import numpy as np
import pytest
from hostile import labelled_csv, mean_model

from keypoints.cli import main
from keypoints.data.loader import load_kaggle_csv
from keypoints.errors import DataError, KeypointsError
from keypoints.training.trainer import TrainSettings, prepare, train_networks


def test_a_macos_zip_with_its_metadata_is_read(tmp_path):
    source = labelled_csv(tmp_path / "training.csv", n=3)
    path = tmp_path / "training.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(source, "training.csv")
        archive.writestr("__MACOSX/._training.csv", b"\x00\x05\x16\x07 resource fork")
        archive.writestr("__MACOSX/", b"")
    data = load_kaggle_csv(path, use_cache=False)
    np.testing.assert_array_equal(data.images, load_kaggle_csv(source, use_cache=False).images)


def test_a_zip_with_two_csvs_is_still_refused(tmp_path):
    source = labelled_csv(tmp_path / "training.csv", n=1)
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(source, "training.csv")
        archive.write(source, "copy/training.csv")
    with pytest.raises(DataError, match="expected one .csv inside the zip, found 2"):
        load_kaggle_csv(path, use_cache=False)


def test_the_cache_sees_an_edit_in_the_middle_that_keeps_size_and_time(tmp_path):
    path = labelled_csv(tmp_path / "training.csv", n=400)  # several MB: the middle is far from both ends
    load_kaggle_csv(path)
    status, text = path.stat(), path.read_bytes()
    middle = text.index(b"\n", len(text) // 2) + 1  # the first field of a row in the middle
    old = text[middle : text.index(b",", middle)]
    new = b"1" + old[1:] if old[:1] != b"1" else b"2" + old[1:]
    path.write_bytes(text[:middle] + new + text[middle + len(old) :])
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size and path.stat().st_mtime_ns == status.st_mtime_ns
    again = load_kaggle_csv(path)
    line = text[:middle].count(b"\n") + 1
    assert not again.from_cache
    assert again.keypoints[line - 2, 0] == pytest.approx(float(new))


def test_no_network_to_train_is_refused(tmp_path):
    with pytest.raises(KeypointsError, match="no network to train"):
        train_networks(TrainSettings(nets=(), models_dir=str(tmp_path)), say=lambda text: None)


def test_a_training_file_without_a_labelled_row_is_refused(tmp_path):
    path = labelled_csv(tmp_path / "training.csv", n=4, missing=True)
    with pytest.raises(DataError, match="0 of 4 faces have any keypoint, and training needs at least 2"):
        prepare(path)


def test_evaluate_on_a_file_with_every_keypoint_missing_says_so(tmp_path, capsys):
    model = mean_model(tmp_path / "mean.pt")
    path = labelled_csv(tmp_path / "training.csv", n=3, missing=True)
    assert main(["evaluate", "--data", str(path), "--model", str(model)]) == 1
    captured = capsys.readouterr()
    assert "every keypoint of its 3 faces is missing" in captured.err and "RMSE" not in captured.out


def test_models_dir_that_is_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "models").write_text("not a folder")
    argv = ["train", "--data", str(tmp_path / "none.csv"), "--models-dir", str(tmp_path / "models")]
    assert main(argv) == 1  # the data file does not exist either: the output path is checked first
    assert f"error: --models-dir {tmp_path / 'models'}: a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", ""], "argument --data: '' is an empty path"),
        (["train", "--models-dir", " "], "argument --models-dir: ' ' is an empty path"),
        (["predict", "a.jpg", "--out", ""], "argument --out: '' is an empty path"),
        (["evaluate", "--data", "t.csv", "--model", ""], "argument --model: '' is an empty path"),
        (["check", ""], "argument csv: '' is an empty path"),
        (["train", "--nets", "conv,local,conv"], "argument --nets: 'conv,local,conv' names conv more than once"),
    ],
)
def test_empty_paths_and_repeated_names_do_not_quietly_mean_the_default(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2 and message in capsys.readouterr().err


def test_a_csv_whose_name_is_not_utf8_is_read_and_cached(tmp_path, capsys):
    path = labelled_csv(tmp_path / os.fsdecode(b"donn\xe9es.csv"), n=2)
    assert main(["check", str(path)]) == 0 and main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "donn\\xe9es.csv: 2 faces, parsed" in out and "donn\\xe9es.csv: 2 faces, read from the cache" in out


def test_evaluate_writes_no_nan_into_json_for_a_keypoint_nobody_labelled(tmp_path, capsys):
    import json

    model = mean_model(tmp_path / "mean.pt")
    path = labelled_csv(tmp_path / "training.csv", n=3)
    lines = path.read_text().splitlines()
    lines[1:] = [",," + line.split(",", 2)[2] for line in lines[1:]]  # no left eye centre anywhere
    path.write_text("\n".join(lines) + "\n")
    assert main(["evaluate", "--data", str(path), "--model", str(model), "--json"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"left_eye_center +never labelled\n", captured.err)
    figures = json.loads(captured.out)
    assert figures["per_keypoint"]["left_eye_center"] is None and figures["rmse"] > 0
