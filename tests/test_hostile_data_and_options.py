"""Data and options: a gzip bomb under a memory limit, tabs named, pipes and link loops named, true advice, ranges."""

import argparse
import gzip
import os
import subprocess
import sys
import zlib

import pytest
from hostile import kaggle_test_csv, labelled_csv, lookup_csv, mean_model

from keypoints import guards
from keypoints.cli import _parser, main
from keypoints.data.loader import load_kaggle_csv
from keypoints.errors import DataError


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return mean_model(tmp_path_factory.mktemp("model") / "mean.pt")


def test_a_gzip_bomb_under_a_2_gb_memory_limit_ends_with_a_message_naming_the_limit(tmp_path):
    member = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip member
    block = member.compress(b"0" * (64 << 20)) + member.flush()
    bomb = tmp_path / "training.csv.gz"
    bomb.write_bytes(block * 48)  # 3 GiB of text, 3 MB on disk
    assert len(gzip.GzipFile(fileobj=open(bomb, "rb")).read(100)) == 100
    script = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
        "from keypoints.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("KEYPOINTS_MAX_CSV_BYTES", None)
    done = subprocess.run(
        [sys.executable, "-c", script, "check", str(bomb), "--no-cache"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert done.stderr.startswith(f"error: {bomb}: memory ran out after ")
    assert "bytes of its text (once unpacked), before the 2,147,483,648-byte limit for a CSV" in done.stderr
    assert "KEYPOINTS_MAX_CSV_BYTES=<bytes> to stop earlier." in done.stderr


def test_tabs_between_pixels_are_named(tmp_path):
    path = labelled_csv(tmp_path / "t.csv", n=2)
    lines = path.read_text().splitlines()
    head, pixels = lines[2].rsplit(",", 1)
    values = pixels.split(" ")
    lines[2] = head + "," + " ".join(values[:4]) + " " + "\t".join(values[4:54]) + " " + " ".join(values[54:])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as refused:
        load_kaggle_csv(path, use_cache=False)
    assert (
        "line 3, column Image: pixels are separated by tabs (first after pixel 5); this format separates them by "
        "spaces: replace them with spaces (`tr '\\t' ' ' < FILE > NEW.csv`)" in str(refused.value)
    )
    assert "pixel values, expected" not in str(refused.value)


@pytest.fixture(params=["loop", "fifo", "dangling"])
def odd_path(request, tmp_path):
    path = tmp_path / "thing"
    if request.param == "loop":
        path.symlink_to(path)
        return path, "a symbolic link loop (its links lead back to themselves, never to a file)"
    if request.param == "dangling":
        path.symlink_to(tmp_path / "gone.csv")
        return path, f"a symbolic link to {tmp_path / 'gone.csv'}, which does not exist"
    os.mkfifo(path)
    return path, "a named pipe (FIFO), not a file"


def test_a_link_loop_a_pipe_or_a_dangling_link_on_the_command_line_is_named(odd_path, model, tmp_path, capsys):
    path, reason = odd_path
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err == f"error: {path}: {reason}; pass the Kaggle CSV itself.\n"
    assert main(["evaluate", "--data", str(path), "--model", str(model)]) == 1  # a pipe is never opened
    assert capsys.readouterr().err == f"error: {path}: {reason}; pass the Kaggle CSV itself.\n"
    assert main(["evaluate", "--data", str(labelled_csv(tmp_path / "t.csv")), "--model", str(path)]) == 1
    assert capsys.readouterr().err == f"error: {path}: {reason}; pass the .pt model file itself.\n"
    assert main(["predict", str(path), "--model", str(model), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no photos in {path} ({path}: {reason}). Give image files")
    test, out = kaggle_test_csv(tmp_path / "test.csv"), tmp_path / "submission.csv"
    assert main(["submit", "--test", str(test), "--lookup", str(path), "--model", str(model), "--out", str(out)]) == 1
    assert (
        f"error: {path}: {reason}; pass the Kaggle IdLookupTable.csv itself with --lookup." in capsys.readouterr().err
    )
    assert not out.exists()


def test_submit_names_no_option_it_does_not_have(tmp_path, model, capsys):
    test = kaggle_test_csv(tmp_path / "test.csv")
    lines = test.read_text().splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]  # a row cut short
    test.write_text("\n".join(lines) + "\n")
    out = tmp_path / "submission.csv"
    args = ["submit", "--test", str(test), "--lookup", str(lookup_csv(tmp_path / "lookup.csv")), "--model", str(model)]
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--skip-bad-rows" not in err and err.rstrip().endswith("Fix these rows in the file.")
    assert not out.exists()
    assert main(["check", str(test)]) == 1
    assert "or pass --skip-bad-rows to leave them out (each is listed)." in capsys.readouterr().err


RANGES = [
    (["synth", "x.csv", "-n", "100001"], "-n/--faces", "the number of faces is a whole number from 1 to 100,000"),
    (["train", "--epochs", "100001"], "--epochs", "the number of epochs is a whole number from 1 to 100,000"),
    (["train", "--seeds", "0"], "--seeds", "the number of training runs per network is a whole number from 1 to 100"),
    (["train", "--seeds", "101"], "--seeds", "from 1 to 100"),
    (["train", "--valid-fraction", "0"], "--valid-fraction", "a number more than 0 and less than 1"),
    (["train", "--valid-fraction", "1"], "--valid-fraction", "a number more than 0 and less than 1"),
    (["train", "--mirror-sum=-1e9"], "--mirror-sum", "x + mirrored x of the labels in pixels"),
    (["train", "--mirror-sum", "200"], "--mirror-sum", "is a number from 48 to 144"),
    (["bench", "--epochs", "0"], "--epochs", "the number of epochs is a whole number from 1 to 100,000"),
    (["predict", "x.jpg", "--detect-every", "0"], "--detect-every", "from 1 to 1,000,000"),
    (["predict", "x.jpg", "--min-score", "1.5"], "--min-score", "not a fraction from 0 to 1"),
    (
        ["explain", "x.jpg", "--patch", "97"],
        "--patch",
        "a side in pixels of the 96x96 face is a whole number from 1 to 96",
    ),
    (["explain", "x.jpg", "--stride", "500"], "--stride", "from 1 to 96"),
    (["synth", "x.csv", "--seed", "-2"], "--seed", "out of range; a seed is a whole number from 0"),
]


@pytest.mark.parametrize(("argv", "option", "message"), RANGES)
def test_every_numeric_option_is_range_checked_at_parse_time(argv, option, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}: {argv[-1].split('=')[-1]!r} " in err and message in err
    assert list(tmp_path.iterdir()) == []


RANGED = {
    guards.seed,
    guards.fraction,
    guards.face_count,
    guards.epoch_count,
    guards.seed_count,
    guards.frames_between,
    guards.face_pixels,
    guards.valid_fraction,
    guards.mirror_sum,
    guards.upsample_factor,
}


def test_no_numeric_option_of_any_command_lacks_a_range():
    unranged = []
    for command, parser in next(
        a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices.items():
        for action in parser._actions:
            numeric = (
                action.type in (int, float, guards.positive_int, guards.finite_float)
                or isinstance(action.default, (int, float))
                and not isinstance(action.default, bool)
                and action.nargs != 0
            )
            if numeric and action.type not in RANGED:
                unranged.append(f"{command} {action.option_strings}")
    assert unranged == []
