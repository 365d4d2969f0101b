"""The GPU training path's own code, run on the CPU: batches, deferred loss reads, speedups, the progress bar.

(And, on a machine with a CUDA GPU, the same training on it: the last test.)

On a GPU the batch losses stay on the device until a pass ends, the forward
pass may be compiled, and the weights are channels-last under bf16 autocast.
CI has no GPU, so these tests make the same code run here: the one decision
"read this loss now?" (:func:`keypoints.training.speed.reads_at_once`) is
answered "no", and ``compile`` runs through inductor's CPU backend.
"""

import math
import pickle
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skorch.history import History
from torch import nn

from keypoints.data.synthetic import generate_faces
from keypoints.errors import KeypointsError
from keypoints.networks import build_network
from keypoints.training import speed
from keypoints.training.batches import FaceBatches
from keypoints.training.callbacks import LossProgressBar
from keypoints.training.estimator import Recipe, make_regressor
from keypoints.training.speed import SETTING, resolve_speedups
from keypoints.training.trainer import face_tensors


@pytest.fixture
def deferred_reads(monkeypatch):
    """Make every batch loss wait for the end of its pass, as on a GPU; returns the list of losses so deferred."""
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


def fit(
    network="bnconv",
    epochs=1,
    batch_size=16,
    speedups="none",
    autocast_dtype=None,
    progress_bar=False,
    n=40,
    device="cpu",
    validate=True,
):
    """Train ``network`` (a name, or a function that builds the module) on 40 faces, seeded: two fits start alike."""
    torch.manual_seed(0)
    module = build_network(network) if isinstance(network, str) else network()
    tensors = faces(n).to(device)
    valid = faces(8, seed=6).to(device) if validate else None
    regressor = make_regressor(
        module,
        Recipe(epochs=epochs, lr=1e-3, batch_size=batch_size),
        valid_set=valid,
        batches_per_epoch=-(-n // batch_size),
        verbose=0,
        speedups=speedups,
        progress_bar=progress_bar,
        device=device,
    )
    if device == "cpu":
        regressor.autocast_dtype = autocast_dtype
    regressor.fit(tensors, y=None)
    return regressor


def batch_losses(regressor, key="train_loss"):
    return [[batch[key] for batch in row["batches"] if key in batch] for row in regressor.history]


def reference_batches(tensors, batch_size, shuffle, flip, seed, passes):
    """FaceBatches' draws made the straightforward way: order, then each batch's flips, batch by batch."""
    from keypoints.data.transforms import MIRROR_SUM, flip_permutation, scaled_mirror_sum, x_columns

    swap, is_x = flip_permutation(tensors.columns), torch.as_tensor(x_columns(tensors.columns))
    mirror = scaled_mirror_sum(MIRROR_SUM)
    out = []
    for number in range(passes):
        generator = torch.Generator().manual_seed(seed * 100_003 + number)
        n = len(tensors)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            x, y = tensors.images[index], tensors.keypoints[index]
            if flip:
                chosen = torch.zeros(len(x), dtype=torch.bool)
                chosen[torch.randperm(len(x), generator=generator)[: len(x) // 2]] = True
                x = torch.where(chosen[:, None, None, None], x.flip(-1), x)
                mirrored = torch.where(is_x, mirror - y[:, swap], y[:, swap])
                y = torch.where(chosen[:, None], mirrored, y)
            out.append((x, y))
    return out


@pytest.mark.parametrize("shuffle,flip", [(True, True), (False, True), (True, False)])
def test_resident_batches_with_on_device_flips_match_the_reference_draws(shuffle, flip):
    tensors = faces(23)
    iterator = FaceBatches(tensors, batch_size=8, shuffle=shuffle, flip=flip, seed=4, device="cpu")
    ours = [batch for _ in range(2) for batch in iterator]
    expected = reference_batches(tensors, 8, shuffle, flip, seed=4, passes=2)
    assert [len(x) for x, _ in ours] == [8, 8, 7] * 2
    for (x, y), (x_ref, y_ref) in zip(ours, expected, strict=True):
        assert torch.equal(x, x_ref)
        assert torch.equal(torch.isnan(y), torch.isnan(y_ref))
        torch.testing.assert_close(y.nan_to_num(), y_ref.nan_to_num(), rtol=0, atol=0)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU: compares GPU-resident batches with the CPU's"
)
def test_gpu_resident_batches_equal_the_cpu_batches():
    tensors = faces(23)
    cpu = list(FaceBatches(tensors, batch_size=8, shuffle=True, flip=True, seed=2))
    gpu = list(FaceBatches(tensors.to("cuda"), batch_size=8, shuffle=True, flip=True, seed=2))
    for (x, y), (x_gpu, y_gpu) in zip(cpu, gpu, strict=True):
        assert x_gpu.device.type == "cuda"
        assert torch.equal(x, x_gpu.cpu()) and torch.equal(y.nan_to_num(9), y_gpu.cpu().nan_to_num(9))


def test_batch_losses_are_floats_and_the_epoch_loss_is_their_weighted_mean():
    regressor = fit(validate=False)
    batches = regressor.history[-1]["batches"]
    losses = [b["train_loss"] for b in batches]
    assert all(type(loss) is float for loss in losses) and [b["train_batch_size"] for b in batches] == [16, 16, 8]
    assert regressor.history[-1]["train_loss"] == pytest.approx(np.average(losses, weights=[16, 16, 8]))
    assert regressor.history[-1]["train_batch_count"] == 3


def test_channels_last_trains_like_the_default_layout():
    # the two layouts agree within 1e-4 at 2 threads; at 1, 3 or 4 oneDNN's kernels differ by up to 8e-4
    torch.set_num_threads(2)  # conftest restores the count after the test
    plain, fast = fit(validate=False), fit(speedups="channels_last", validate=False)
    assert fast.speedups_ == ("channels_last",)
    weight = next(p for p in fast.module_.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    plain_losses = [b["train_loss"] for b in plain.history[-1]["batches"]]
    fast_losses = [b["train_loss"] for b in fast.history[-1]["batches"]]
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-4)
    assert not any(k.startswith("_orig_mod") for k in fast.module_.state_dict())


def test_autocast_runs_the_same_calls_with_the_cpu_dtype():
    regressor = fit(autocast_dtype=torch.bfloat16, validate=False)
    losses = [b["train_loss"] for b in regressor.history[-1]["batches"]]
    assert all(math.isfinite(loss) for loss in losses)
    y = regressor.infer(faces(4).images)
    assert y.dtype == torch.float32 and y.shape == (4, 30)


def test_speedups_come_from_the_argument_or_the_one_setting(monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)
    assert resolve_speedups(None, "cpu") == ()
    assert resolve_speedups(None, "cuda") == ("channels_last",)
    assert resolve_speedups("compile, channels_last", "cpu") == ("channels_last", "compile")
    assert resolve_speedups("none", "cuda") == ()
    monkeypatch.setenv(SETTING, "channels_last")
    assert resolve_speedups(None, "cpu") == ("channels_last",)
    monkeypatch.setenv(SETTING, "fast")
    with pytest.raises(KeypointsError, match=r"KEYPOINTS_SPEEDUPS: unknown speedup 'fast'; use auto, none"):
        resolve_speedups(None, "cpu")
    with pytest.raises(KeypointsError, match="cudagraphs needs a CUDA device"):
        resolve_speedups("cudagraphs", "cpu")


def test_deferred_loss_reads_leave_the_same_history_as_reads_at_once(deferred_reads):
    deferred = fit(epochs=2)
    # every training and validation batch of both epochs, asked by the history and by the non-finite check
    assert len(deferred_reads) == 2 * (2 * (3 + 1))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(speed, "reads_at_once", lambda loss: True)
        at_once = fit(epochs=2)
    for key in ("train_loss", "valid_loss"):
        later, now = batch_losses(deferred, key), batch_losses(at_once, key)
        # the tensors held during the pass were replaced by floats at its end, in their own rows
        assert all(type(loss) is float for losses in later for loss in losses)
        assert later == now and [len(losses) for losses in later] == ([3, 3] if key == "train_loss" else [1, 1])
    for row, row_now in zip(deferred.history, at_once.history, strict=True):
        assert row["train_loss"] == row_now["train_loss"] and row["valid_rmse"] == row_now["valid_rmse"]


def test_the_progress_bar_runs_without_printing_or_waiting_for_losses_still_on_the_device(deferred_reads, capsys):
    fit(progress_bar=True)
    bar = capsys.readouterr().err
    assert "/4 [" in bar  # three training batches and one validation batch
    assert "tensor(" not in bar


def test_the_progress_bar_shows_the_losses_already_read():
    net = SimpleNamespace(history=History())
    net.history.new_epoch()
    net.history.new_batch()
    net.history.record_batch("train_loss", torch.tensor(0.25))  # still on the device, on a GPU
    net.history.record_batch("valid_loss", 0.5)
    # shown in pixels, as the epoch table is: sqrt(0.5) of the half-width, 48 px; the loss on the device is left out
    assert LossProgressBar()._get_postfix_dict(net) == {"valid_rmse_px": pytest.approx(48 * 0.5**0.5, abs=1e-3)}


def test_channels_last_under_bf16_autocast_trains_as_a_gpu_would_by_default():
    """``auto`` on CUDA is channels-last with bf16 autocast; here with the CPU's bf16."""
    regressor = fit(speedups="channels_last", autocast_dtype=torch.bfloat16)
    assert regressor.speedups_ == ("channels_last",)
    losses = batch_losses(regressor)[0]
    assert len(losses) == 3 and all(np.isfinite(losses))
    y = regressor.predict(faces(4).images.numpy())
    assert y.dtype == np.float32 and y.shape == (4, 30) and np.isfinite(y).all()


def tiny_network():
    """Small enough that inductor compiles it in seconds; no dropout, so compiled and plain runs agree."""
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(4 * 23 * 23, 30))


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")),
    reason="torch.compile on the CPU needs a C++ compiler (g++ or clang++), and none is on PATH",
)
def test_compiled_training_matches_the_plain_module_and_saves_clean_weights():
    compiled = fit(tiny_network, epochs=2, batch_size=20, speedups="compile")
    plain = fit(tiny_network, epochs=2, batch_size=20)
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
    gpu = fit(tiny_network, epochs=2, batch_size=20, speedups=speedups, device="cuda")
    cpu = fit(tiny_network, epochs=2, batch_size=20)
    assert gpu.autocast_dtype == torch.bfloat16 and next(gpu.module_.parameters()).is_cuda
    assert gpu.speedups_ == resolve_speedups(speedups, "cuda")
    losses = batch_losses(gpu)
    assert all(type(loss) is float and np.isfinite(loss) for loss in sum(losses, []))
    # the same batches and weights: the first loss, before any step, differs only by bf16 rounding
    assert losses[0][0] == pytest.approx(batch_losses(cpu)[0][0], rel=0.05)
    y = gpu.predict(faces(4).images.numpy())
    assert y.dtype == np.float32 and y.shape == (4, 30) and np.isfinite(y).all()
