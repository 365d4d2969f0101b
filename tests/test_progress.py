"""Progress of ``keypoints predict``: a bar over the files on a terminal, per-file lines with --verbose or in a log."""

import sys
from pathlib import Path

import pytest

from keypoints.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def run(tmp_path, capsys, monkeypatch, terminal, *extra):
    if terminal:
        monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code = main(["predict", str(SAMPLES), "--out", str(tmp_path / "out"), "--no-images", *extra])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    return printed


def test_a_log_gets_one_line_per_photo_and_no_bar(tmp_path, capsys, monkeypatch):
    printed = run(tmp_path, capsys, monkeypatch, False)
    model, *lines = printed.out.splitlines()
    assert model.startswith("model default.onnx (bnconv), trained on training.csv.gz, frames, fgnet, helen; ")
    assert [line.rsplit(": ", 1)[1] for line in lines[:3]] == ["1 face"] * 3
    assert lines[3].startswith("3 photos read, 3 faces found; results in ")
    assert "predict:" not in printed.err


@pytest.mark.parametrize("verbose", [False, True])
def test_a_terminal_gets_a_bar_over_the_files_and_the_lines_only_with_verbose(tmp_path, capsys, monkeypatch, verbose):
    printed = run(tmp_path, capsys, monkeypatch, True, *(["--verbose"] if verbose else []))
    assert "predict: 100%" in printed.err and "3/3" in printed.err and "file/s" in printed.err
    per_file = [line for line in printed.out.splitlines() if line.endswith(": 1 face")]
    assert len(per_file) == (3 if verbose else 0)
    assert printed.out.splitlines()[-1].startswith("3 photos read, 3 faces found; results in ")
