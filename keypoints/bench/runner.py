"""Run every bench section in order, print the one ratio table, write ``reports/bench.json``."""

import json
import os
import platform
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from keypoints import paths
from keypoints.bench.cores import bench_cores
from keypoints.bench.floor import bench_floor
from keypoints.bench.gpu import bench_time_to_best, speedup_rows
from keypoints.bench.layer import bench_local_layer
from keypoints.bench.loading import bench_loading
from keypoints.bench.peers import PEERS_DIR, bench_peers, install_peers
from keypoints.bench.photos import bench_detector_paths, bench_photos
from keypoints.bench.prediction import bench_prediction
from keypoints.bench.settings import BenchSettings
from keypoints.bench.table import format_table
from keypoints.bench.training import bench_training, throughput_by_network
from keypoints.bench.video import bench_video
from keypoints.predict.detect import make_detector
from keypoints.training.estimator import choose_device


def run_benchmarks(quick=False, out=None, say=print, settings=None):
    """Run every section, print the table, and write ``reports/bench.json``.

    The sections run in this order: loading, training, the local layer,
    prediction, photos, video, the cores (:mod:`keypoints.bench.cores`), the peers
    (:mod:`keypoints.bench.peers`), the arithmetic floor (from the training rows'
    throughput), and on CUDA the speedup settings and the time to the best
    validation RMSE (with each network's fastest setting).

    Parameters
    ----------
    quick : bool
    out : str or Path, optional
        Default ``reports/bench.json``.
    say : callable
    settings : BenchSettings, optional
        Overrides ``quick``.

    Returns
    -------
    list of BenchRow
    """
    settings = settings or BenchSettings(quick=quick)
    device = choose_device(settings.device)
    out = Path(out or paths.REPORTS_DIR / "bench.json")
    say(f"keypoints bench ({settings.mode}) on {device}, {torch.get_num_threads()} threads")
    started = time.perf_counter()
    if settings.install_peers:
        install_peers(settings.peers_dir or PEERS_DIR, say=say)
    winners = {}
    with tempfile.TemporaryDirectory(prefix="keypoints-bench-") as folder:
        rows = bench_loading(folder, settings, say=say)
        training = bench_training(settings, device, say=say)
        rows += training
        rows += bench_local_layer(settings, device, say=say)
        rows += bench_prediction(settings, device, say=say)
        rows += bench_photos(folder, settings, make_detector(), say=say)
        rows += bench_detector_paths(folder, settings, say=say)
        rows += bench_video(folder, settings, say=say)
        rows += bench_cores(folder, settings, say=say)
        rows += bench_peers(folder, settings, say=say)
        rows += bench_floor(settings, device, throughput_by_network(training), say=say)
        if device == "cuda":
            gpu_rows, winners = speedup_rows(settings, device, say=say)
            rows += gpu_rows + bench_time_to_best(settings, device, winners, say=say)
    seconds = time.perf_counter() - started
    say("")
    say(format_table(rows))
    record = {
        "quick": settings.quick,
        "mode": settings.mode,
        "device": device,
        "seconds": seconds,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        },
        "speedup_winners": winners,
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
    }
    _write_json(out, record)
    say(f"\n{len(rows)} rows in {seconds:.0f} s; written to {out}")
    return rows


def _write_json(path, record):
    """Write ``record`` to ``path`` atomically: a half-written file never takes its place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(record, indent=2))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
