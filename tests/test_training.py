"""Training: the masked loss, whole-batch flips, learning on synthetic faces, checkpoints, `keypoints train`."""

import functools
import json
import re

import numpy as np
import pytest
import torch

from keypoints.cli import main
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces, write_synthetic_csv
from keypoints.data.transforms import flip_horizontal
from keypoints.errors import ModelFileError, TrainingError
from keypoints.model.checkpoint import load_model, save_model
from keypoints.model.inference import predict_pixels
from keypoints.training import speed, trainer
from keypoints.training.batches import FaceBatches
from keypoints.training.callbacks import PixelRmse, RunClock, format_duration
from keypoints.training.estimator import Recipe
from keypoints.training.loss import MaskedMSELoss
from keypoints.training.trainer import (
    TrainValidSplit,
    face_tensors,
    jittered_validation,
    mean_baseline,
    train_one,
    write_history,
)


def test_masked_loss_ignores_missing_keypoints_and_their_gradient_is_zero():
    y_true = torch.tensor([[0.5, float("nan"), -0.2], [float("nan"), 0.1, 0.3]])
    y_pred = torch.tensor([[0.4, 9.0, -0.2], [7.0, 0.3, 0.0]], requires_grad=True)
    loss = MaskedMSELoss()(y_pred, y_true)
    expected = (0.1**2 + 0 + 0.2**2 + 0.3**2) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert y_pred.grad[0, 1] == 0 and y_pred.grad[1, 0] == 0
    assert y_pred.grad[1, 1] != 0


def test_masked_loss_equals_mse_when_nothing_is_missing():
    a, b = torch.randn(8, 30), torch.randn(8, 30)
    assert MaskedMSELoss()(a, b).item() == pytest.approx(torch.nn.functional.mse_loss(a, b).item(), rel=1e-6)


def small_set(n=10):
    images, keypoints = generate_faces(n, seed=3)
    return images, keypoints, face_tensors(images, keypoints)


def test_batches_flip_exactly_half_and_relabel_left_and_right():
    images, keypoints, tensors = small_set(10)
    batches = list(FaceBatches(tensors, batch_size=10, shuffle=False, flip=True, seed=1))
    ((x, y),) = batches
    flipped_images, flipped_points = flip_horizontal(
        tensors.images.numpy(), tensors.keypoints.numpy(), KEYPOINT_COLUMNS, scaled=True
    )
    is_flipped = [not torch.equal(x[i], tensors.images[i]) for i in range(10)]
    assert sum(is_flipped) == 5
    for i in range(10):
        source_x = flipped_images[i] if is_flipped[i] else tensors.images[i].numpy()
        source_y = flipped_points[i] if is_flipped[i] else tensors.keypoints[i].numpy()
        np.testing.assert_array_equal(x[i].numpy(), source_x)
        np.testing.assert_allclose(y[i].numpy(), source_y, atol=1e-6)


def test_batches_are_seeded_cover_every_face_and_change_order_between_passes():
    _, _, tensors = small_set(10)

    def run(seed):
        return [x for x, _ in FaceBatches(tensors, batch_size=4, shuffle=True, flip=True, seed=seed)]

    first, again = run(7), run(7)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert [len(b) for b in first] == [4, 4, 2]
    iterator = FaceBatches(tensors, batch_size=10, shuffle=True, seed=7)
    one, two = next(iter(iterator))[0], next(iter(iterator))[0]
    assert not torch.equal(one, two)
    assert torch.equal(one.sum(0), tensors.images.sum(0)) or torch.allclose(one.sum(0), tensors.images.sum(0))


def test_batches_flip_about_the_mirror_sum_they_are_given():
    _, _, tensors = small_set(10)
    ((x, y),) = FaceBatches(tensors, batch_size=10, flip=True, seed=1, mirror_sum=97.0)
    _, expected = flip_horizontal(
        tensors.images.numpy(), tensors.keypoints.numpy(), KEYPOINT_COLUMNS, scaled=True, mirror_sum=97.0
    )
    flipped = [i for i in range(10) if not torch.equal(x[i], tensors.images[i])]
    np.testing.assert_allclose(y[flipped].numpy(), expected[flipped], atol=1e-6)


def test_missing_keypoints_stay_missing_through_a_flip():
    images, keypoints = generate_faces(4, seed=1)
    keypoints[:, 4:] = np.nan
    tensors = face_tensors(images, keypoints)
    ((_, y),) = FaceBatches(tensors, batch_size=4, flip=True, seed=0)
    assert torch.isnan(y).sum() == 4 * 26 and not torch.isnan(y[:, :4]).any()


@pytest.fixture(scope="module")
def trained():
    """bnconv trained on synthetic faces until it has learnt, for the learning test (slow: about 9 s).

    400 faces on one thread: see docs/decisions/0060-tests-training-fixture-size-and-threads.md.
    """
    images, keypoints = generate_faces(400, seed=11)
    prepared = TrainValidSplit(
        source=None,
        sha256="",
        columns=KEYPOINT_COLUMNS,
        synthetic=True,
        train_images=images[:320],
        train_keypoints=keypoints[:320],
        valid_images=images[320:],
        valid_keypoints=keypoints[320:],
        split="first 320 / last 80",
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small net: a second thread costs more than it gains, most of all on a busy machine
    try:
        recipe = Recipe(epochs=8, lr=4e-3, batch_size=32, patience=10)
        result, module = train_one("bnconv", prepared, recipe, seed=0, verbose=0)
    finally:
        torch.set_num_threads(threads)
    return prepared, result, module


@pytest.mark.slow
def test_network_learns_synthetic_faces(trained):
    prepared, result, _ = trained
    first = result.history[0]["valid_rmse"]
    base, _ = mean_baseline(prepared)
    assert result.best_valid_rmse <= first / 2, [row["valid_rmse"] for row in result.history]
    assert result.valid_rmse < base
    assert result.valid_rmse == pytest.approx(result.best_valid_rmse, rel=0.02)  # best weights restored


def quick_speed_figure(monkeypatch):
    """``train_one`` times inference on 4 faces, not 4 passes of 256: what these tests assert needs no speed figure."""
    monkeypatch.setattr(
        trainer, "seconds_per_face", functools.partial(trainer.seconds_per_face, batch_size=4, repeats=1)
    )


def test_checkpoint_reloads_to_identical_predictions(tmp_path, monkeypatch):
    quick_speed_figure(monkeypatch)
    images, keypoints = generate_faces(48, seed=6)
    prepared = TrainValidSplit(None, "", KEYPOINT_COLUMNS, images[:32], keypoints[:32], images[32:], keypoints[32:], "")
    result, module = train_one("bnconv", prepared, Recipe(epochs=1, lr=4e-3, batch_size=16), seed=0, verbose=0)
    path = save_model(tmp_path / "bnconv.pt", "bnconv", module, {"best_valid_rmse_px": result.best_valid_rmse})
    loaded = load_model(path)
    before = predict_pixels(module, prepared.valid_images[:16])
    after = predict_pixels(loaded.module, prepared.valid_images[:16])
    np.testing.assert_array_equal(before, after)
    assert loaded.network.name == "bnconv" and loaded.columns == KEYPOINT_COLUMNS
    assert loaded.card["best_valid_rmse_px"] == result.best_valid_rmse


def test_model_files_that_are_not_ours_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"certainly not a model")
    with pytest.raises(ModelFileError, match="not a keypoints model file"):
        load_model(junk)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(ModelFileError, match="not a keypoints model"):
        load_model(plain)


class _Boom:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_model_file_with_pickled_code_runs_nothing(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "keypoints-model", "payload": _Boom()}, evil)
    with pytest.raises(ModelFileError, match="carries code"):
        load_model(evil)
    assert "pickled code ran" not in capsys.readouterr().out


@pytest.mark.parametrize("read", ["at once", "at the end of the pass"])
def test_non_finite_loss_stops_with_a_message(read, monkeypatch):
    """Also when the losses are read at the end of each pass, as on a GPU (:func:`speed.reads_at_once`)."""
    deferred = []
    if read == "at the end of the pass":
        monkeypatch.setattr(speed, "reads_at_once", lambda loss: deferred.append(loss) or False)
    images, keypoints = generate_faces(64, seed=2)
    prepared = TrainValidSplit(
        source=None,
        sha256="",
        columns=KEYPOINT_COLUMNS,
        synthetic=True,
        train_images=images[:48],
        train_keypoints=keypoints[:48],
        valid_images=images[48:],
        valid_keypoints=keypoints[48:],
        split="",
    )
    with pytest.raises(TrainingError, match=r"(?s)training loss became (nan|inf) in epoch 1.*lower learning rate"):
        train_one("bnconv", prepared, Recipe(epochs=2, lr=1e30, batch_size=16), verbose=0)
    assert bool(deferred) == (read == "at the end of the pass")


@pytest.mark.slow
def test_train_command_end_to_end_writes_models_and_the_multi_seed_report(tmp_path, capsys):
    data = write_synthetic_csv(tmp_path / "training.csv", 48, seed=5)
    argv = ["train", "--data", str(data), "--epochs", "2", "--seeds", "3", "--models-dir", str(tmp_path / "models")]
    code = main([*argv, "--reports-dir", str(tmp_path / "reports")])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("keypoints train\n") and "plan: bnconv, bnlocal x seeds 0, 1, 2 = 6 training runs" in out
    # the epoch table marks the best epoch and says how long the whole run has left
    header = next(line for line in out.splitlines() if line.split()[:1] == ["epoch"])
    assert header.split()[:3] == ["epoch", "best", "run_left"]
    for net in ("bnconv", "bnlocal"):
        model = load_model(tmp_path / "models" / f"{net}.pt")
        card = model.card
        assert card["epochs"] <= 2 and card["data"] == str(data) and len(card["data_sha256"]) == 64
        assert card["seed"] == 0 and card["mean_baseline_rmse_px"] > 0 and card["synthetic_data"] is False
        assert card["command"] == f"keypoints train --data {data} --preset default --seed 0 --seeds 3 --epochs 2"
        history = (tmp_path / "models" / f"{net}.history.csv").read_text().splitlines()
        assert history[0] == "epoch,train_rmse,valid_rmse,dur" and len(history) == 1 + card["epochs"]
    report = (tmp_path / "reports" / "comparison.md").read_text()
    assert report.startswith("# `bnconv` vs `bnlocal`: 3 seed(s) on `training.csv`\n\n**On centred faces ")
    assert "| `bnlocal` - `bnconv` | centred faces |" in report and "mean of training keypoints" in report
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", report):
        assert (tmp_path / "reports" / link).stat().st_size > 5_000, link
    assert str(tmp_path) not in report

    code = main(["evaluate", "--data", str(data), "--model", str(tmp_path / "models" / "bnconv.pt"), "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["n_faces"] == 48 and set(figures["per_keypoint"]) >= {"nose_tip", "left_eye_center"}
    assert figures["rmse"] > 0


def test_epoch_table_marks_each_new_best_and_the_bar_shows_pixels():
    class History(list):
        def record(self, key, value):
            self[-1][key] = value

    net = type("Net", (), {})()
    net.history = History()
    marks = []
    for loss in (0.04, 0.01, 0.02, 0.0025):
        net.history.append({"train_loss": loss, "valid_loss": loss})
        PixelRmse().on_epoch_end(net)
        marks.append(net.history[-1]["best"])
    assert marks == [True, True, False, True]
    assert net.history[-1]["valid_rmse"] == pytest.approx(0.05 * 48)


def test_run_clock_estimates_the_time_left_for_every_network_and_seed():
    clock = RunClock([("bnconv", 4), ("bnlocal", 4), ("bnconv", 4), ("bnlocal", 4)])
    assert format_duration(clock.seconds_left()) == "?"
    clock.start(0)
    for _ in range(2):
        clock.epoch(10.0)
    # 2 epochs left here, then 12 more, every network at bnconv's 10 s until bnlocal has run
    assert clock.seconds_left() == pytest.approx(140.0)
    clock.start(1)
    clock.epoch(30.0)
    assert clock.seconds_left() == pytest.approx(3 * 30 + 4 * 10 + 4 * 30)
    assert [format_duration(s) for s in (42, 725, 3720)] == ["42s", "12m05s", "1h02m"]


def test_jittered_validation_faces_move_with_their_keypoints():
    images, keypoints = generate_faces(6, seed=9)
    split = TrainValidSplit(None, "", KEYPOINT_COLUMNS, images, keypoints, images, keypoints, "")
    still_images, still_points = jittered_validation(split, 95.0, jitter=(0.0, 0.0, 0.0))
    np.testing.assert_array_equal(still_images, images)
    np.testing.assert_allclose(still_points, keypoints, atol=1e-4)
    moved_images, moved_points = jittered_validation(split, 95.0, jitter=(0.0, 0.0, 2.0), seed=1)
    again = jittered_validation(split, 95.0, jitter=(0.0, 0.0, 2.0), seed=1)
    np.testing.assert_array_equal(moved_images, again[0])
    shift = moved_points - keypoints  # a pure shift moves every keypoint of a face alike, up to 2 px
    assert np.abs(shift).max() <= 2.0 + 1e-4 and np.abs(shift).max() > 0.1
    np.testing.assert_allclose(shift[:, 0::2], shift[:, [0]] * np.ones((1, 15)), atol=1e-4)


def test_history_csv_is_written_whole(tmp_path):
    path = write_history(
        tmp_path / "m" / "bnconv.history.csv",
        [{"epoch": 1, "train_rmse": 2.5, "valid_rmse": 3.0, "dur": 1.5, "best": True}],
    )
    assert path.read_text().splitlines() == ["epoch,train_rmse,valid_rmse,dur", "1,2.5,3.0,1.5"]
    assert [p.name for p in path.parent.iterdir()] == ["bnconv.history.csv"]


def test_unknown_network_is_refused_before_any_work(tmp_path, capsys):
    assert main(["train", "--nets", "conv,resnet", "--models-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "resnet" in err and "conv" in err
    assert not list(tmp_path.iterdir())


def test_training_on_the_cpu_is_reproducible_for_a_seed(monkeypatch):
    quick_speed_figure(monkeypatch)
    images, keypoints = generate_faces(96, seed=4)
    prepared = TrainValidSplit(
        source=None,
        sha256="",
        columns=KEYPOINT_COLUMNS,
        synthetic=True,
        train_images=images[:64],
        train_keypoints=keypoints[:64],
        valid_images=images[64:],
        valid_keypoints=keypoints[64:],
        split="",
    )
    recipe = Recipe(epochs=2, lr=4e-3, batch_size=16)
    runs = [train_one("bnconv", prepared, recipe, seed=3, verbose=0) for _ in range(2)]
    (first, first_module), (second, second_module) = runs
    assert [row["valid_rmse"] for row in first.history] == [row["valid_rmse"] for row in second.history]
    np.testing.assert_array_equal(predict_pixels(first_module, images[64:]), predict_pixels(second_module, images[64:]))


def test_prepare_splits_by_person_even_when_bad_rows_are_skipped(tmp_path):
    from keypoints.training.trainer import prepare

    images, keypoints = generate_faces(40, seed=8)
    path = write_synthetic_csv(tmp_path / "training.csv", 40, seed=8)
    people = [f"p{i // 4}" for i in range(40)]
    (tmp_path / "training_identities.csv").write_text("identity\n" + "\n".join(people) + "\n")
    lines = path.read_text().splitlines()
    lines[6] = "oops" + lines[6]  # data row 5 (person p1) is bad
    path.write_text("\n".join(lines) + "\n")
    prepared = prepare(path, valid_fraction=0.3, seed=1, skip_bad_rows=True, say=lambda *a: None)
    row_of = {images[i].tobytes(): i for i in range(40)}

    def person(faces):
        return {people[row_of[face.tobytes()]] for face in faces}

    train_people, valid_people = person(prepared.train_images), person(prepared.valid_images)
    assert train_people.isdisjoint(valid_people) and len(train_people | valid_people) == 10
    assert len(prepared.train_images) + len(prepared.valid_images) == 39
    (tmp_path / "training_identities.csv").write_text("identity\n" + "\n".join(people[:30]) + "\n")
    with pytest.raises(Exception, match="30 identities for 40 data rows"):
        prepare(path, skip_bad_rows=True, say=lambda *a: None)
