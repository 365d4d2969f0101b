"""`make bench` and the fast training path: every row written, the GPU path's batches and losses."""

import contextlib
import io
import json
import math

import numpy as np
import pytest
import torch

from keypoints import bench
from keypoints.cli import main
from keypoints.data.synthetic import generate_faces
from keypoints.errors import KeypointsError
from keypoints.training.batches import FaceBatches
from keypoints.training.estimator import Recipe, make_regressor
from keypoints.training.run import face_tensors
from keypoints.training.speed import SETTING, resolve_speedups


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    """`keypoints bench --quick` (what `make bench BENCH=quick` runs), once: what it printed and wrote."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["bench", "--quick", "--device", "cpu", "--out", str(out)])
    return code, json.loads(out.read_text()), printed.getvalue()


@pytest.mark.slow
def test_quick_bench_writes_every_row_to_json_and_prints_the_table(quick_bench):
    code, record, said = quick_bench
    assert code == 0
    sections = [row["section"] or "loading" for row in record["rows"]]
    assert sections.count("loading") == 2
    assert sections.count("training") == 2 and sections.count("local layer") == 4
    assert sections.count("floor") == 2
    predictions = [row["name"] for row in record["rows"] if row["section"] == "prediction"]
    assert [n.split(",")[0] for n in predictions[:2]] == ["predict bnconv", "predict conv"]
    assert [n.split(" end")[0] for n in predictions[2:]] == ["photo 640x480", "photo 4000x3000"]
    assert len(record["rows"]) == 14 and "14 rows in" in said
    for row in record["rows"]:
        assert row["ours"] > 0 and row["baseline"] > 0 and math.isfinite(row["ratio"]), row
        expected = row["ours"] / row["baseline"] if row["higher_is_better"] else row["baseline"] / row["ours"]
        assert row["ratio"] == pytest.approx(expected)
        assert row["name"] in said  # every row is in the printed table
    assert record["mode"] == "quick" and record["device"] == "cpu"
    training = [row for row in record["rows"] if row["section"] == "training"]
    assert all(isinstance(row["details"]["meets_target"], bool) for row in training)
    assert [row["unit"] for row in training] == ["img/s", "img/s"]


@pytest.mark.slow
def test_bench_layer_rows_measure_the_broadcast_memory_blow_up(quick_bench):
    _, record, _ = quick_bench
    batch = bench.SIZES["quick"]["broadcast_batch"]
    memory = next(row for row in record["rows"] if row["name"].startswith(f"peak memory, batch {batch}:"))
    # the broadcast keeps a (B, K, D1*F*F, L) product: 64 times the unfolded input
    assert memory["baseline"] > 2 * memory["ours"]


def test_flops_are_counted_per_face_and_equal_for_conv_and_local():
    conv_train, conv_predict = bench.flops_per_face("conv")
    local_train, _ = bench.flops_per_face("local")
    # conv2 alone: 64 filters of 32*2*2 at 46*46 positions, 2 FLOPs per multiply-add, forward only
    assert conv_predict > 2 * 64 * 128 * 46 * 46
    assert 2.5 * conv_predict < conv_train < 3.5 * conv_predict  # backward: about twice the forward
    assert local_train == conv_train  # no weight sharing: same arithmetic, more weights


def test_bench_command_passes_its_options(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(bench, "run_benchmarks", lambda out=None, settings=None, **_: seen.update(
        out=out, settings=settings))
    assert main(["bench", "--quick", "--device", "cpu", "--data", "x.csv", "--epochs", "7",
                 "--out", str(tmp_path / "b.json")]) == 0
    settings = seen["settings"]
    assert (settings.quick, settings.device, settings.data, settings.epochs) == (True, "cpu", "x.csv", 7)
    assert seen["out"] == str(tmp_path / "b.json")


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
            index = order[start:start + batch_size]
            x, y = tensors.images[index], tensors.keypoints[index]
            if flip:
                chosen = torch.zeros(len(x), dtype=torch.bool)
                chosen[torch.randperm(len(x), generator=generator)[: len(x) // 2]] = True
                x = torch.where(chosen[:, None, None, None], x.flip(-1), x)
                mirrored = torch.where(is_x, mirror - y[:, swap], y[:, swap])
                y = torch.where(chosen[:, None], mirrored, y)
            out.append((x, y))
    return out


def small_tensors(n=23):
    images, keypoints = generate_faces(n, seed=5)
    keypoints[3, 4:] = np.nan  # a face with missing keypoints
    return face_tensors(images, keypoints)


@pytest.mark.parametrize("shuffle,flip", [(True, True), (False, True), (True, False)])
def test_resident_batches_with_on_device_flips_match_the_reference_draws(shuffle, flip):
    tensors = small_tensors()
    iterator = FaceBatches(tensors, batch_size=8, shuffle=shuffle, flip=flip, seed=4, device="cpu")
    ours = [batch for _ in range(2) for batch in iterator]
    expected = reference_batches(tensors, 8, shuffle, flip, seed=4, passes=2)
    assert [len(x) for x, _ in ours] == [8, 8, 7] * 2
    for (x, y), (x_ref, y_ref) in zip(ours, expected, strict=True):
        assert torch.equal(x, x_ref)
        assert torch.equal(torch.isnan(y), torch.isnan(y_ref))
        torch.testing.assert_close(y.nan_to_num(), y_ref.nan_to_num(), rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: compares GPU-resident batches "
                    "with the CPU's")
def test_gpu_resident_batches_equal_the_cpu_batches():
    tensors = small_tensors()
    cpu = list(FaceBatches(tensors, batch_size=8, shuffle=True, flip=True, seed=2))
    gpu = list(FaceBatches(tensors.to("cuda"), batch_size=8, shuffle=True, flip=True, seed=2))
    for (x, y), (x_gpu, y_gpu) in zip(cpu, gpu, strict=True):
        assert x_gpu.device.type == "cuda"
        assert torch.equal(x, x_gpu.cpu()) and torch.equal(y.nan_to_num(9), y_gpu.cpu().nan_to_num(9))


def fit_one_epoch(speedups, autocast_dtype=None, batch_size=16):
    torch.manual_seed(0)
    from keypoints.networks import build_network

    tensors = small_tensors(40)
    regressor = make_regressor(build_network("bnconv"), Recipe(epochs=1, lr=1e-3, batch_size=batch_size),
                               batches_per_epoch=-(-len(tensors) // batch_size), verbose=0, speedups=speedups)
    regressor.autocast_dtype = autocast_dtype
    regressor.fit(tensors, y=None)
    return regressor


def test_batch_losses_are_floats_and_the_epoch_loss_is_their_weighted_mean():
    regressor = fit_one_epoch("none")
    batches = regressor.history[-1]["batches"]
    losses = [b["train_loss"] for b in batches]
    assert all(type(loss) is float for loss in losses) and [b["train_batch_size"] for b in batches] == [16, 16, 8]
    assert regressor.history[-1]["train_loss"] == pytest.approx(np.average(losses, weights=[16, 16, 8]))
    assert regressor.history[-1]["train_batch_count"] == 3


def test_channels_last_trains_like_the_default_layout():
    plain, fast = fit_one_epoch("none"), fit_one_epoch("channels_last")
    assert fast.speedups_ == ("channels_last",)
    weight = next(p for p in fast.module_.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    plain_losses = [b["train_loss"] for b in plain.history[-1]["batches"]]
    fast_losses = [b["train_loss"] for b in fast.history[-1]["batches"]]
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-4)
    assert not any(k.startswith("_orig_mod") for k in fast.module_.state_dict())


def test_autocast_runs_the_same_calls_with_the_cpu_dtype():
    regressor = fit_one_epoch("none", autocast_dtype=torch.bfloat16)
    losses = [b["train_loss"] for b in regressor.history[-1]["batches"]]
    assert all(math.isfinite(loss) for loss in losses)
    y = regressor.infer(small_tensors(4).images)
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



@pytest.mark.slow
def test_gpu_rows_run_the_same_code_on_the_cpu(monkeypatch):
    """The speedup comparison and the time-to-best rows, on the CPU at the test sizes."""
    monkeypatch.delenv("KEYPOINTS_DATA_DIR", raising=False)  # synthetic faces, not the shared file
    settings = bench.BenchSettings(tiny=True, device="cpu", epochs=2)
    settings.resolved_device = "cpu"
    said = []
    rows = bench.speedup_rows(settings, ("none", "channels_last"), say=said.append, networks=("local",))
    assert [row.name for row in rows] == ["train local on GPU: speedups channels_last"]
    assert settings.speedup_winners["local"] in ("none", "channels_last")
    assert rows[0].details["winner"] == settings.speedup_winners["local"]
    rows = bench.bench_time_to_best(settings, settings.speedup_winners, say=said.append, networks=("conv",))
    assert [row.name.split(":")[0] for row in rows] == ["conv"]
    for row in rows:
        assert row.details["epochs_run"] == 2 and row.details["best_epoch"] in (1, 2)
        assert 0 < row.ours <= row.details["total_s"] and row.details["best_valid_rmse_px"] > 0
        assert row.details["data"] == "synthetic (40 faces)"
