"""The command line: one message for a missing model in every command; defaults and help text from their owners."""

import pytest

from keypoints import paths
from keypoints.cli import main
from keypoints.data.splits import VALID_FRACTION
from keypoints.errors import KeypointsError

MODEL_COMMANDS = {
    "predict": ["predict", "photo.jpg"],
    "evaluate": ["evaluate", "--data", "training.csv"],
    "evaluate-photos": ["evaluate-photos", "photos"],
    "explain": ["explain", "training.csv:1"],
    "submit": ["submit", "--test", "test.csv", "--lookup", "IdLookupTable.csv"],
}


@pytest.mark.parametrize("command", sorted(MODEL_COMMANDS))
def test_a_missing_shipped_model_gives_one_message_in_every_command(command, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paths, "DEFAULT_MODEL", tmp_path / "assets" / "default.pt")
    monkeypatch.setattr(paths, "PREDICTOR_MODEL", tmp_path / "assets" / "default.onnx")
    monkeypatch.chdir(tmp_path)
    # the predictor runs the ONNX export; the other commands the torch weights
    shipped = "default.onnx" if command in ("predict", "evaluate-photos") else "default.pt"
    missing = tmp_path / "assets" / shipped
    assert main(MODEL_COMMANDS[command]) == 1
    assert capsys.readouterr().err == (
        f"error: no model file: {missing} is missing. It ships with the project (restore it with "
        f"`git checkout keypoints/assets/{shipped}`), or train one with `make train` and pass it with "
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


def help_of(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines by the terminal's width


def test_the_help_takes_its_defaults_from_their_owners(monkeypatch, capsys):
    from keypoints.data import transforms
    from keypoints.predict import options

    monkeypatch.setattr(options, "DETECT_EVERY", 7)
    monkeypatch.setattr(transforms, "REAL_FACES_MIRROR_SUM", 96.5)
    monkeypatch.setattr(transforms, "MIRROR_SUM", 94)
    assert "look for new faces every N frames (default: 7);" in help_of("predict", capsys)
    assert "in pixels (default: 96.5, measured on the real-face data; 94 for the synthetic faces)" in help_of(
        "train", capsys
    )


class Stop(KeypointsError):
    pass


def test_train_options_left_out_take_the_settings_defaults(monkeypatch, capsys):
    from keypoints.training import trainer

    asked = []

    def train_networks(settings, on_result=None):
        asked.append(settings)
        raise Stop("stopped before training")

    monkeypatch.setattr(trainer, "train_networks", train_networks)
    assert main(["train"]) == 1
    assert main(["train", "--seed", "3", "--valid-fraction", "0.3", "--device", "cpu", "--preset", "full"]) == 1
    assert asked == [
        trainer.TrainSettings(),
        trainer.TrainSettings(seed=3, valid_fraction=0.3, device="cpu", preset="full"),
    ]
    assert asked[0].valid_fraction == VALID_FRACTION


def test_explain_options_left_out_take_explain_images_defaults(monkeypatch, tmp_path):
    from keypoints.explain import images

    asked = []

    def explain_images(model, specs, out_dir, **options):
        asked.append(options)
        raise Stop("stopped before explaining")

    monkeypatch.setattr(images, "explain_images", explain_images)
    model = tmp_path / "model.pt"
    assert main(["explain", "training.csv:1", "--model", str(model)]) == 1
    assert (
        main(["explain", "training.csv:1", "--model", str(model), "--patch", "8", "--keypoint", "mouth_left_corner"])
        == 1
    )
    assert asked == [{}, {"keypoint": "mouth_left_corner", "patch": 8}]
