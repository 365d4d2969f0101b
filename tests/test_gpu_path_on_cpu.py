"""The GPU training path's own code, run on the CPU: deferred loss reads, the progress bar, compilation.

(And, on a machine with a CUDA GPU, the same training on it: the last test.)

On a GPU the batch losses stay on the device until a pass ends, the forward
pass may be compiled, and the weights are channels-last under bf16 autocast.
CI has no GPU, so these tests make the same code run here: the one decision
"read this loss now?" (:func:`keypoints.training.speed.reads_at_once`) is
answered "no", and ``compile`` runs through inductor's CPU backend.
"""

import pickle
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skorch.history import History
from torch import nn

from keypoints.data.synthetic import generate_faces
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.errors import TrainingError
from keypoints.networks import build_network
from keypoints.training import speed
from keypoints.training.callbacks import LossProgressBar
from keypoints.training.estimator import Recipe, make_regressor
from keypoints.training.run import Prepared, face_tensors, train_one


@pytest.fixture
def deferred_reads(monkeypatch):
    """Make every batch loss wait for the end of its pass, as on a GPU; yields the losses so deferred."""
    deferred = []

    def reads_later(loss):
        deferred.append(loss)
        return False

    monkeypatch.setattr(speed, "reads_at_once", reads_later)
    return deferred


def faces(n=40, seed=5):
    images, keypoints = generate_faces(n, seed=seed)
    keypoints[3, 4:] = np.nan  # a face with missing keypoints
    return face_tensors(images, keypoints)


def fit(module, epochs=1, batch_size=16, speedups="none", autocast_dtype=None, progress_bar=False, n=40,
        device="cpu"):
    torch.manual_seed(0)
    tensors = faces(n).to(device)
    valid = faces(8, seed=6).to(device)
    regressor = make_regressor(module, Recipe(epochs=epochs, lr=1e-3, batch_size=batch_size), valid_set=valid,
                               batches_per_epoch=-(-n // batch_size), verbose=0, speedups=speedups,
                               progress_bar=progress_bar, device=device)
    if device == "cpu":
        regressor.autocast_dtype = autocast_dtype
    regressor.fit(tensors, y=None)
    return regressor


def batch_losses(regressor, key="train_loss"):
    return [[batch[key] for batch in row["batches"] if key in batch] for row in regressor.history]


def test_deferred_loss_reads_leave_the_same_history_as_reads_at_once(deferred_reads):
    torch.manual_seed(0)
    module = build_network("bnconv")
    at_once_module = pickle.loads(pickle.dumps(module))
    deferred = fit(module, epochs=2)
    # every training and validation batch of both epochs, asked by the history and by the non-finite check
    assert len(deferred_reads) == 2 * (2 * (3 + 1))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(speed, "reads_at_once", lambda loss: True)
        at_once = fit(at_once_module, epochs=2)
    for key in ("train_loss", "valid_loss"):
        later, now = batch_losses(deferred, key), batch_losses(at_once, key)
        # the tensors held during the pass were replaced by floats at its end, in their own rows
        assert all(type(loss) is float for losses in later for loss in losses)
        assert later == now and [len(losses) for losses in later] == ([3, 3] if key == "train_loss" else [1, 1])
    for row, row_now in zip(deferred.history, at_once.history, strict=True):
        assert row["train_loss"] == row_now["train_loss"] and row["valid_rmse"] == row_now["valid_rmse"]


def test_a_non_finite_loss_read_at_the_end_of_the_pass_still_stops_training(deferred_reads):
    images, keypoints = generate_faces(64, seed=2)
    prepared = Prepared(source=None, sha256="", columns=KEYPOINT_COLUMNS, synthetic=True, train_images=images[:48],
                        train_keypoints=keypoints[:48], valid_images=images[48:], valid_keypoints=keypoints[48:],
                        split="")
    with pytest.raises(TrainingError, match=r"(?s)training loss became (nan|inf) in epoch 1.*lower learning rate"):
        train_one("bnconv", prepared, Recipe(epochs=2, lr=1e30, batch_size=16), verbose=0)
    assert deferred_reads, "the losses were not deferred"


def test_the_progress_bar_runs_without_printing_or_waiting_for_losses_still_on_the_device(deferred_reads, capsys):
    fit(build_network("bnconv"), progress_bar=True)
    bar = capsys.readouterr().err
    assert "/4 [" in bar  # three training batches and one validation batch
    assert "tensor(" not in bar


def test_the_progress_bar_shows_the_losses_already_read():
    net = SimpleNamespace(history=History())
    net.history.new_epoch()
    net.history.new_batch()
    net.history.record_batch("train_loss", torch.tensor(0.25))  # still on the device, on a GPU
    net.history.record_batch("valid_loss", 0.5)
    assert LossProgressBar()._get_postfix_dict(net) == {"valid_loss": 0.5}


def test_channels_last_under_bf16_autocast_trains_as_a_gpu_would_by_default():
    """``auto`` on CUDA is channels-last with bf16 autocast; here with the CPU's bf16."""
    torch.manual_seed(0)
    regressor = fit(build_network("bnconv"), speedups="channels_last", autocast_dtype=torch.bfloat16)
    assert regressor.speedups_ == ("channels_last",)
    losses = batch_losses(regressor)[0]
    assert len(losses) == 3 and all(np.isfinite(losses))
    y = regressor.predict(faces(4).images.numpy())
    assert y.dtype == np.float32 and y.shape == (4, 30) and np.isfinite(y).all()


def tiny_network():
    """Small enough that inductor compiles it in seconds; no dropout, so compiled and plain runs agree."""
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(4 * 23 * 23, 30))


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")),
                    reason="torch.compile on the CPU needs a C++ compiler (g++ or clang++), and none is on PATH")
def test_compiled_training_matches_the_plain_module_and_saves_clean_weights():
    torch.manual_seed(0)
    module = tiny_network()
    plain_module = pickle.loads(pickle.dumps(module))
    compiled = fit(module, epochs=2, batch_size=20, speedups="compile")
    plain = fit(plain_module, epochs=2, batch_size=20)
    assert compiled.speedups_ == ("compile",) and compiled._compiled is not None
    np.testing.assert_allclose(sum(batch_losses(compiled), []), sum(batch_losses(plain), []), rtol=1e-4)
    # prediction runs the plain module (no grad), on the same weights
    x = faces(4).images
    with torch.no_grad():
        expected = compiled.module_(x)
    np.testing.assert_allclose(compiled.predict(x.numpy()), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert not any(key.startswith("_orig_mod") for key in compiled.module_.state_dict())
    copy = pickle.loads(pickle.dumps(compiled))  # the compiled function is left out, made again on use
    assert getattr(copy, "_compiled", None) is None
    np.testing.assert_allclose(copy.predict(x.numpy()), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: trains on it")
@pytest.mark.parametrize("speedups", ["auto", "none", "channels_last,cudagraphs"])
def test_training_on_cuda_starts_where_the_cpu_does_and_reads_every_loss(speedups):
    torch.manual_seed(0)
    module = tiny_network()
    cpu_module = pickle.loads(pickle.dumps(module))
    gpu = fit(module, epochs=2, batch_size=20, speedups=speedups, device="cuda")
    cpu = fit(cpu_module, epochs=2, batch_size=20)
    assert gpu.autocast_dtype == torch.bfloat16 and next(gpu.module_.parameters()).is_cuda
    assert gpu.speedups_ == speed.resolve_speedups(speedups, "cuda")
    losses = batch_losses(gpu)
    assert all(type(loss) is float and np.isfinite(loss) for loss in sum(losses, []))
    # the same batches and weights: the first loss, before any step, differs only by bf16 rounding
    assert losses[0][0] == pytest.approx(batch_losses(cpu)[0][0], rel=0.05)
    y = gpu.predict(faces(4).images.numpy())
    assert y.dtype == np.float32 and y.shape == (4, 30) and np.isfinite(y).all()
