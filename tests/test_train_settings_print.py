"""``keypoints train`` prints the settings it resolved, not the ``None`` of options left out."""

import pytest

from keypoints.data.synthetic import write_synthetic_csv
from keypoints.data.transforms import REAL_FACES_MIRROR_SUM
from keypoints.training.settings import TrainSettings
from keypoints.training.trainer import train_networks


class Printed(Exception):
    """Stops the run once the settings are printed: nothing is trained."""


def printed_settings(settings):
    lines = []

    def say(text):
        lines.append(text)
        if text.lstrip().startswith("device used"):
            raise Printed

    with pytest.raises(Printed):
        train_networks(settings, say=say)
    return {line.split()[0]: line.split(None, 1)[1] for line in lines if line.startswith("  ")}


def test_the_settings_print_shows_the_resolved_networks_epochs_seeds_and_data(tmp_path):
    data = write_synthetic_csv(tmp_path / "training.csv", 48, seed=5)
    settings = TrainSettings(
        data=str(data), models_dir=str(tmp_path / "m"), reports_dir=str(tmp_path / "r"), device="cpu"
    )
    shown = printed_settings(settings)
    assert shown["nets"] == "bnconv, bnlocal"
    assert shown["seeds"] == "0, 1, 2"
    assert shown["data"] == str(data)
    assert shown["epochs"].isdigit() and int(shown["epochs"]) > 1
    assert shown["mirror_sum"] == str(REAL_FACES_MIRROR_SUM)  # a data file's default
    assert "None" not in " ".join(shown.values())


def test_given_values_are_printed_as_given(tmp_path):
    data = write_synthetic_csv(tmp_path / "training.csv", 48, seed=5)
    settings = TrainSettings(
        data=str(data),
        nets=("bnconv",),
        epochs=3,
        seeds=2,
        seed=4,
        mirror_sum=97.0,
        models_dir=str(tmp_path / "m"),
        reports_dir=str(tmp_path / "r"),
        device="cpu",
    )
    shown = printed_settings(settings)
    assert (shown["nets"], shown["epochs"], shown["seeds"], shown["seed"], shown["mirror_sum"]) == (
        "bnconv",
        "3",
        "4, 5",
        "4",
        "97.0",
    )
