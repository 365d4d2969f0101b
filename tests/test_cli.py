"""The command line: every command that takes --model resolves a missing shipped model with one message."""

import pytest

from keypoints import paths
from keypoints.cli import main

MODEL_COMMANDS = {
    "predict": ["predict", "photo.jpg"],
    "evaluate": ["evaluate", "--data", "training.csv"],
    "evaluate-photos": ["evaluate-photos", "photos"],
    "explain": ["explain", "training.csv:1"],
    "submit": ["submit", "--test", "test.csv", "--lookup", "IdLookupTable.csv"],
}


@pytest.mark.parametrize("command", sorted(MODEL_COMMANDS))
def test_a_missing_shipped_model_gives_one_message_in_every_command(command, tmp_path, monkeypatch, capsys):
    missing = tmp_path / "assets" / "default.pt"
    monkeypatch.setattr(paths, "DEFAULT_MODEL", missing)
    monkeypatch.chdir(tmp_path)
    assert main(MODEL_COMMANDS[command]) == 1
    assert capsys.readouterr().err == (
        f"error: no model file: {missing} is missing. It ships with the project (restore it with "
        "`git checkout keypoints/assets/default.pt`), or train one with `make train` and pass it with "
        "--model models/bnconv.pt\n"
    )


@pytest.mark.parametrize("command", sorted(MODEL_COMMANDS))
def test_a_missing_model_given_with_model_gives_one_message_in_every_command(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "gone.pt"
    assert main([*MODEL_COMMANDS[command], "--model", str(missing)]) == 1
    assert capsys.readouterr().err == (
        f"error: {missing}: no such model file. Train one with `make train`, or pass --model with the path of "
        "a .pt file it wrote.\n"
    )
