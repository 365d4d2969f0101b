"""The conclusive preset's training: a split by person per seed, the plateau schedule, early stopping before the end."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skorch.callbacks import LRScheduler
from skorch.history import History

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces, write_synthetic_csv
from keypoints.data.transforms import HALF
from keypoints.errors import KeypointsError
from keypoints.training import trainer
from keypoints.training.callbacks import PixelRmse, WarmupPlateau
from keypoints.training.estimator import Recipe, adamw_schedule
from keypoints.training.presets import recipe_for, report_name, splits_per_seed
from keypoints.training.trainer import TrainSettings, TrainValidSplit, _kept_epoch, train_networks, train_one


def people_file(tmp_path, faces, per_person):
    """A training CSV of synthetic faces with ``per_person`` consecutive faces per person, and its identities."""
    path = write_synthetic_csv(tmp_path / "training.csv", faces, seed=2)
    people = [f"p{i // per_person}" for i in range(faces)]
    (tmp_path / "training_identities.csv").write_text("identity\n" + "\n".join(people) + "\n")
    images, _ = generate_faces(faces, seed=2)
    return path, images, np.array(people)


def person_of(images, people):
    """A function from a face image to its person (every synthetic face is different)."""
    index = {image.tobytes(): person for image, person in zip(images, people)}
    return lambda image: index[image.tobytes()]


def record_splits(monkeypatch):
    seen = []
    real = trainer.prepare

    def recording(path, valid_fraction, seed, *args, **kwargs):
        split = real(path, valid_fraction, seed, *args, **kwargs)
        seen.append((seed, split))
        return split

    monkeypatch.setattr(trainer, "prepare", recording)
    monkeypatch.setattr(trainer, "seconds_per_face", lambda *args, **kwargs: 1e-3)  # no timing: splits are the point
    return seen


def test_every_seed_of_the_conclusive_preset_draws_its_own_split_by_person(tmp_path, monkeypatch):
    path, images, people = people_file(tmp_path, 60, per_person=3)
    seen = record_splits(monkeypatch)
    settings = TrainSettings(
        data=str(path),
        nets=("bnconv",),
        preset="conclusive",
        epochs=1,
        seeds=3,
        models_dir=str(tmp_path / "models"),
        reports_dir=str(tmp_path / "reports"),
    )
    records = []
    run = train_networks(settings, say=lambda text: None, on_result=lambda run: records.append(len(run.results)))
    assert [seed for seed, _ in seen] == [0, 1, 2]
    person = person_of(images, people)
    valid_people = []
    for seed, split in seen:
        train = {person(image) for image in split.train_images[:, 0]}
        valid = {person(image) for image in split.valid_images[:, 0]}
        assert train and valid and not train & valid, f"seed {seed}: a person on both sides"
        assert len(train | valid) == 20
        valid_people.append(frozenset(valid))
    assert len(set(valid_people)) == 3  # three different draws of the held-out people
    assert run.split_per_seed and sorted(run.splits) == [0, 1, 2]
    assert [run.splits[s]["split"].endswith(f"seed {s}") for s in (0, 1, 2)] == [True] * 3
    assert [r.n_valid for r in run.results] == [len(split.valid_images) for _, split in seen]
    assert records == [1, 2, 3, 3] and run.finished  # a record after every network and seed, and at the end


def test_the_default_preset_keeps_one_split_for_every_seed(tmp_path, monkeypatch):
    path, _, _ = people_file(tmp_path, 40, per_person=4)
    seen = record_splits(monkeypatch)
    folders = dict(models_dir=str(tmp_path / "m"), reports_dir=str(tmp_path / "r"))
    settings = TrainSettings(data=str(path), nets=("bnconv",), epochs=1, seeds=2, seed=5, **folders)
    run = train_networks(settings, say=lambda text: None)
    assert [seed for seed, _ in seen] == [5] and not run.split_per_seed
    assert [r.seed for r in run.results] == [5, 6]


def test_the_conclusive_preset_and_its_report():
    assert splits_per_seed("conclusive") and not splits_per_seed("default") and not splits_per_seed("full")
    assert report_name("conclusive") == "conclusive" and report_name("default") == "comparison"
    recipe = recipe_for("bnlocal", "conclusive")
    assert recipe == recipe_for("bnconv", "conclusive") and recipe.schedule == "plateau"
    assert recipe.patience > recipe.plateau_patience  # the rate falls before early stopping gives up
    assert TrainSettings(preset="conclusive").seed_list() == tuple(range(10))
    with pytest.raises(KeypointsError, match="unknown schedule 'cosine'; use one of one-cycle, plateau"):
        Recipe(epochs=2, schedule="cosine")


def test_the_plateau_schedule_watches_the_validation_rmse():
    recipe = Recipe(epochs=5, schedule="plateau", plateau_factor=0.5, plateau_patience=0, min_gain=0.01)
    schedule = adamw_schedule(recipe)
    assert isinstance(schedule, LRScheduler) and schedule.policy is torch.optim.lr_scheduler.ReduceLROnPlateau
    assert schedule.monitor == "valid_rmse"
    assert schedule.kwargs == {"mode": "min", "factor": 0.5, "patience": 0, "threshold": 0.01}
    one_cycle = adamw_schedule(recipe_for("bnconv", "default"), batches_per_epoch=10)
    assert one_cycle.policy is torch.optim.lr_scheduler.OneCycleLR and one_cycle.kwargs["total_steps"] == 160


def test_the_conclusive_rate_warms_up_then_halves_on_a_plateau():
    recipe = recipe_for("bnconv", "conclusive")  # 4e-3, 2 warm-up epochs, halved after 2 epochs gaining < 0.2 %
    schedule = adamw_schedule(recipe, batches_per_epoch=4)
    assert isinstance(schedule, WarmupPlateau)
    weight = torch.zeros(1, requires_grad=True)
    net = SimpleNamespace(history=History(), optimizer_=torch.optim.AdamW([weight], lr=9.0))
    marks = PixelRmse(recipe.min_gain)  # marks the epochs the schedule reads as better
    schedule.on_train_begin(net)
    steps = []
    for rmse in [5.0, 4.0, 3.0, 2.999, 2.998, 2.997, 2.996, 2.0]:
        net.history.new_epoch()
        for _ in range(4):
            schedule.on_batch_begin(net, training=True)
            steps.append(net.optimizer_.param_groups[0]["lr"])
        schedule.on_batch_begin(net, training=False)  # validation batches leave the rate alone
        net.history.record("train_loss", (rmse / HALF) ** 2)
        net.history.record("valid_loss", (rmse / HALF) ** 2)
        marks.on_epoch_end(net)
        schedule.on_epoch_end(net)
    assert steps[:8] == pytest.approx([4e-3 * k / 8 for k in range(1, 9)])
    assert net.history[:, "lr"] == pytest.approx([2e-3, 4e-3, 4e-3, 4e-3, 4e-3, 2e-3, 2e-3, 1e-3])


def test_the_epoch_kept_is_the_last_to_gain_enough():
    history = [
        {"epoch": 1, "valid_rmse": 3.0, "best": True},
        {"epoch": 2, "valid_rmse": 2.0, "best": True},
        {"epoch": 3, "valid_rmse": 1.999, "best": False},  # lower, but by less than min_gain
    ]
    assert _kept_epoch(history)["epoch"] == 2
    assert _kept_epoch([{k: v for k, v in row.items() if k != "best"} for row in history])["epoch"] == 3


def tiny_split(faces=64, cut=48):
    images, keypoints = generate_faces(faces, seed=5)
    return TrainValidSplit(
        None, "", KEYPOINT_COLUMNS, images[:cut], keypoints[:cut], images[cut:], keypoints[cut:], "", True
    )


def converges(name):
    # the preset's schedule, patience and epochs; batches of 8, so 48 faces make 6 steps an epoch
    recipe = replace(recipe_for(name, "conclusive"), batch_size=8)
    result, _ = train_one(name, tiny_split(), recipe, seed=0, verbose=0)
    rmse = [row["valid_rmse"] for row in result.history]
    assert result.epochs < recipe.epochs, rmse  # early stopping ended it
    assert result.epochs - result.best_epoch == recipe.patience, rmse
    assert result.best_valid_rmse < rmse[0] / 2, rmse


def test_the_conclusive_recipe_converges_on_tiny_data():
    converges("bnconv")


@pytest.mark.slow
def test_the_conclusive_recipe_converges_on_tiny_data_locally_connected_too():
    converges("bnlocal")
