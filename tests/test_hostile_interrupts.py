"""Training owns its interrupts: Ctrl-C keeps the best weights so far under an unmistakable name, exit code 130."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from skorch.callbacks import Callback

from keypoints.cli import main
from keypoints.errors import TrainingInterruptedError
from keypoints.model.checkpoint import load_model, save_model
from keypoints.networks.build import Network, build_module
from keypoints.networks.layers import Dense, Flatten
from keypoints.training import interrupts
from keypoints.training.estimator import Recipe, make_regressor
from keypoints.training.trainer import face_tensors

NETWORK = Network("tiny", "one dense layer", (Flatten(), Dense(30)))


class CtrlC(Callback):
    """Sends SIGINT to this process at the first batch of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=None, **kwargs):
        if training and len(net.history) == self.epoch:
            signal.raise_signal(signal.SIGINT)


def save_tiny(path, name, module, card):
    return save_model(path, NETWORK, module, card)


def fit_until_ctrl_c(epoch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, 1, 96, 96), dtype=np.uint8)
    keypoints = rng.uniform(20, 70, (24, 30)).astype(np.float32)
    regressor = make_regressor(
        build_module(NETWORK),
        Recipe(epochs=6, batch_size=8),
        valid_set=face_tensors(images[16:], keypoints[16:]),
        batches_per_epoch=2,
        verbose=0,
    )
    interrupts.watch(regressor)
    regressor.callbacks.append(("ctrl_c", CtrlC(epoch)))
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(interrupts.FitInterrupted) as caught:
        regressor.fit(face_tensors(images[:16], keypoints[:16]), y=None)
    assert signal.getsignal(signal.SIGINT) is handler  # put back after training
    return caught.value


def test_ctrl_c_in_the_first_epoch_saves_nothing_and_says_so(tmp_path):
    stop = fit_until_ctrl_c(epoch=1)
    assert stop.module is None and stop.epochs_done == 0
    with pytest.raises(TrainingInterruptedError) as caught:
        interrupts.keep_best_so_far(stop, "tiny", tmp_path, {}, save_model)
    assert "interrupted in epoch 1 of 6, before any epoch finished: nothing was saved" in str(caught.value)
    assert caught.value.exit_code == 130
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_later_keeps_the_best_epoch_beside_the_finished_model(tmp_path):
    finished = tmp_path / "tiny.pt"
    finished.write_bytes(b"a finished model")
    stop = fit_until_ctrl_c(epoch=3)
    assert stop.epochs_done == 2 and stop.best_epoch in (1, 2)
    with pytest.raises(TrainingInterruptedError, match=r"after 2 of 6 epochs.*tiny\.pt was not changed"):
        interrupts.keep_best_so_far(stop, "tiny", tmp_path, {"network": "tiny"}, save_tiny)
    assert finished.read_bytes() == b"a finished model"
    card = load_model(tmp_path / "tiny.interrupted.pt").card
    assert card["interrupted"] == "at epoch 3 of 6 (Ctrl-C)" and card["epochs"] == 2


@pytest.mark.slow
def test_sigint_to_keypoints_train_after_the_first_epoch(tmp_path):
    assert main(["synth", str(tmp_path / "faces.csv"), "-n", "120"]) == 0
    models = tmp_path / "models"
    models.mkdir()
    (models / "bnconv.pt").write_bytes(b"the good model")
    command = [sys.executable, "-u", "-m", "keypoints", "train", "--data", str(tmp_path / "faces.csv")]
    command += ["--nets", "bnconv,conv", "--epochs", "30", "--device", "cpu"]
    command += ["--models-dir", str(models), "--reports-dir", str(tmp_path / "reports")]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines, started = [], time.monotonic()
    for line in run.stdout:
        lines.append(line)
        if line.split()[:1] == ["1"]:  # the first row of the epoch table
            run.send_signal(signal.SIGINT)
        assert time.monotonic() - started < 300, "".join(lines)
    output = "".join(lines)
    assert run.wait() == 130, output
    assert "Traceback" not in output and "KeyError" not in output
    assert "training of bnconv interrupted after" in output
    assert "no other network was started" in output and "== conv" not in output
    assert (models / "bnconv.pt").read_bytes() == b"the good model"
    card = load_model(models / "bnconv.interrupted.pt").card
    assert card["interrupted"].startswith("at epoch ") and card["interrupted"].endswith(" of 30 (Ctrl-C)")
    assert sorted(p.name for p in models.iterdir()) == ["bnconv.interrupted.pt", "bnconv.pt"]
    assert not (tmp_path / "reports").exists()
