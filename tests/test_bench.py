"""`make bench`: every row written and printed, its options, and the GPU rows' code run on the CPU."""

import contextlib
import io
import json
import math

import pytest

from keypoints import bench
from keypoints.bench.floor import flops_per_face
from keypoints.bench.gpu import TIME_TO_BEST_TARGET_S, bench_time_to_best, speedup_rows
from keypoints.bench.layer import LAYER_SHAPE, broadcast_product_bytes
from keypoints.cli import main
from keypoints.predict.photo.workers import default_workers


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    """`keypoints bench --quick` (what `make bench BENCH=quick` runs), once: what it printed and wrote."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # no peer venvs: the peer rows skip dlib and MediaPipe, as in CI
        peers = str(tmp_path_factory.mktemp("no-peers"))
        code = main(["bench", "--quick", "--device", "cpu", "--out", str(out), "--peers-dir", peers])
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
    assert [n.split(" end")[0] for n in predictions[2:6]] == ["photo 640x480", "photo 4000x3000"] * 2
    assert [n.split(",")[0] for n in predictions[6:]] == ["video 640x480"]
    peers = [row["name"].split(": ", 1)[1] for row in record["rows"] if row["section"] == "peers"]
    assert peers == ["keypoints --no-images (ONNX, the default)", "keypoints, images and page (ONNX)"]
    assert "dlib HOG + 68 points skipped: no venv at" in said and "MediaPipe 0.10.21 Face Mesh skipped" in said
    cores = [row["name"].split(": ")[0] for row in record["rows"] if row["section"] == "cores"]
    workers = f"--workers {default_workers()}"
    assert cores == [
        "24 photos, --no-images",
        "24 photos, images and page",
        f"24 photos, {workers}",
        "video 640x480, one face, tracked and written",
    ]
    units = [row["unit"] for row in record["rows"] if row["section"] == "cores"]
    assert units == ["photos/s", "photos/s", "s", "frames/s"]
    assert len(record["rows"]) == 23 and "23 rows in" in said
    assert "ours vs baseline" in said and ("x faster" in said or "x slower" in said)  # which way is better
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
    conv_train, conv_predict = flops_per_face("conv")
    local_train, _ = flops_per_face("local")
    # conv2 alone: 64 filters of 32*2*2 at 46*46 positions, 2 FLOPs per multiply-add, forward only
    assert conv_predict > 2 * 64 * 128 * 46 * 46
    assert 2.5 * conv_predict < conv_train < 3.5 * conv_predict  # backward: about twice the forward
    assert local_train == conv_train  # no weight sharing: same arithmetic, more weights


def test_bench_command_passes_its_options(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(
        bench, "run_benchmarks", lambda out=None, settings=None, **_: seen.update(out=out, settings=settings)
    )
    assert (
        main(
            [
                "bench",
                "--quick",
                "--device",
                "cpu",
                "--data",
                "x.csv",
                "--epochs",
                "7",
                "--out",
                str(tmp_path / "b.json"),
            ]
        )
        == 0
    )
    settings = seen["settings"]
    assert (settings.quick, settings.device, settings.data, settings.epochs) == (True, "cpu", "x.csv", 7)
    assert seen["out"] == str(tmp_path / "b.json")


@pytest.mark.slow
def test_gpu_rows_run_the_same_code_on_the_cpu(monkeypatch):
    """The speedup comparison and the time-to-best rows, on the CPU at the test sizes."""
    monkeypatch.delenv("KEYPOINTS_DATA_DIR", raising=False)  # synthetic faces, not the shared file
    settings = bench.BenchSettings(tiny=True, device="cpu", epochs=2)
    said = []
    rows, winners = speedup_rows(settings, "cpu", ("none", "channels_last"), say=said.append, networks=("local",))
    assert [row.name for row in rows] == ["train local on GPU: speedups channels_last"]
    assert winners["local"] in ("none", "channels_last")
    assert rows[0].details["winner"] == winners["local"]
    rows = bench_time_to_best(settings, "cpu", {"conv": winners["local"]}, say=said.append, networks=("conv",))
    assert [row.name.split(":")[0] for row in rows] == ["conv"]
    for row in rows:
        assert row.details["epochs_run"] == 2 and row.details["best_epoch"] in (1, 2)
        assert 0 < row.ours <= row.details["total_s"] and row.details["best_valid_rmse_px"] > 0
        assert row.details["data"] == "synthetic (40 faces)"
        assert row.details["speedups"] == winners["local"]
        assert row.baseline == TIME_TO_BEST_TARGET_S["conv"]


def test_settings_carry_no_results():
    settings = bench.BenchSettings(quick=True)
    with pytest.raises(AttributeError):
        settings.throughput = {}
    assert set(vars(settings)) == {"quick", "device", "data", "epochs", "tiny", "photos", "peers_dir", "install_peers"}


def test_broadcast_product_size_comes_from_the_layer_geometry():
    # (B, K, D1*F*F, L): 64 filters, 32*2*2 inputs each, at 46*46 positions, 4 bytes each
    assert broadcast_product_bytes(128) == 128 * 64 * 32 * 4 * 46 * 46 * 4
    assert broadcast_product_bytes(1, {**LAYER_SHAPE, "input_size": 5}) == 64 * 32 * 4 * 4 * 4 * 4


def test_floor_rows_come_from_the_throughput_they_are_given():
    from keypoints.bench.floor import bench_floor
    from keypoints.bench.training import throughput_by_network

    training = [bench.BenchRow("train conv", 10.0, 12.0, "plain", section="training", details={"network": "conv"})]
    throughput = throughput_by_network(training)
    assert throughput == {"conv": 10.0}
    rows = bench_floor(bench.BenchSettings(tiny=True), "cpu", throughput, say=lambda *_: None)
    assert [row.name for row in rows] == ["train conv: throughput vs the arithmetic floor"]  # no local: not measured
    (row,) = rows
    assert row.ours == 10.0 and row.details["train_flops_per_face"] == flops_per_face("conv")[0]
    assert row.baseline == pytest.approx(row.details["matmul_flops_per_s"] / row.details["train_flops_per_face"])


def test_photo_rows_time_the_detector_they_are_given(tmp_path):
    from keypoints.bench.photos import bench_photos
    from keypoints.predict.detect import FaceDetector, no_detections

    class NoFaces(FaceDetector):
        """A detector that finds nothing, as a second detector's rows would be timed."""

        calls = 0

        def find(self, image):
            NoFaces.calls += 1
            return no_detections(with_landmarks=False)

    said = []
    rows = bench_photos(tmp_path, bench.BenchSettings(tiny=True), NoFaces(), label="none", say=said.append)
    assert [row.name for row in rows] == [
        "photo 160x120 end to end, none (0 face(s))",
        "photo 320x240 end to end, none (0 face(s))",
    ]
    assert all(row.details["detector"] == "NoFaces" and row.ours > 0 and row.baseline > 0 for row in rows)
    assert NoFaces.calls == 4  # each photo: once to count the faces, once timed


def test_the_yunet_path_is_timed_against_the_haar_path_and_a_video_against_its_frames_as_photos(tmp_path):
    from keypoints.bench.photos import bench_detector_paths
    from keypoints.bench.video import bench_video

    settings = bench.BenchSettings(tiny=True)
    said = []
    rows = bench_detector_paths(tmp_path, settings, say=said.append)
    assert [row.name for row in rows] == [
        "photo 160x120 end to end, YuNet path vs Haar path",
        "photo 320x240 end to end, YuNet path vs Haar path",
    ]
    assert all(set(row.details["faces_found"]) == {"yunet", "haar"} and row.ours > 0 for row in rows)
    (video,) = bench_video(tmp_path, settings, say=said.append)
    assert video.name == "video 160x120, one face, tracked (frames/s)" and video.higher_is_better
    assert 9 <= video.details["frames"] <= 10 and 1 <= video.details["detections"] <= video.details["frames"]
    assert video.ratio == pytest.approx(video.ours / video.baseline) and video.ours > 0


@pytest.mark.slow
def test_a_peer_that_cannot_be_installed_is_skipped_with_the_reason(tmp_path, monkeypatch):
    from keypoints.bench import peers

    monkeypatch.setattr(peers, "PEERS", {"absent": ("A peer", (str(tmp_path / "no-such-peer-1.0-py3-none-any.whl"),))})
    failed = peers.install_peers(tmp_path / "venvs", say=lambda text: None)
    assert list(failed) == ["absent"] and not (tmp_path / "venvs" / "absent").exists()
    python, reason = peers.peer_python("absent", tmp_path / "venvs")
    assert python is None and reason.startswith("could not be installed (") and "no-such-peer" in reason
