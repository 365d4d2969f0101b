"""``make bench``: speed figures as ratios against baselines measured in the same run.

Each row times our way and a baseline on the same input, one after the other
in this process, so the ratio holds on any machine even though the absolute
times (printed beside it, for information) do not. The figures are also
written to ``reports/bench.json``.
"""

import json
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from keypoints import paths
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.synthetic import drop_keypoints_like_kaggle
from keypoints.data.writer import write_kaggle_csv

KAGGLE_ROWS = 7049
KAGGLE_COMPLETE = 2140


@dataclass
class BenchRow:
    """One line of the table: ``ours`` against ``baseline``, in seconds (or whatever ``unit`` says)."""

    name: str
    ours: float
    baseline: float
    baseline_name: str
    unit: str = "s"
    higher_is_better: bool = False

    @property
    def ratio(self):
        """How many times better ours is than the baseline (above 1 is better)."""
        if self.higher_is_better:
            return self.ours / self.baseline
        return self.baseline / self.ours


def best_of(function, repeats):
    """Shortest wall time of ``repeats`` calls of ``function``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def write_kaggle_sized_file(path, rows=KAGGLE_ROWS, seed=0):
    """A file shaped like the real ``training.csv``: 7049 rows, 2140 complete, random pixels.

    Random pixels cost nothing to make and parse like real ones (the same
    spread of 1-, 2- and 3-digit values).
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (rows, 1, 96, 96), dtype=np.uint8)
    keypoints = rng.uniform(10, 86, (rows, 30)).round(6)
    keypoints = drop_keypoints_like_kaggle(keypoints, 1 - KAGGLE_COMPLETE / rows, seed=seed)
    return write_kaggle_csv(path, images, keypoints)


def per_row_parse(path):
    """The tutorials' loader: ``read_csv``, then ``np.fromstring`` on each row's ``Image``."""
    frame = pd.read_csv(path)
    images = np.vstack(frame["Image"].apply(lambda text: np.fromstring(text, sep=" ")).to_numpy())
    return images.reshape(-1, 1, 96, 96), frame.drop(columns="Image").to_numpy()


def bench_loading(folder, quick=False, say=print):
    """First load against the per-row parse, and the cached load against the first load."""
    path = write_kaggle_sized_file(Path(folder) / "training.csv", rows=KAGGLE_ROWS)
    say(f"loading: made {path.name}, {KAGGLE_ROWS} rows, {path.stat().st_size / 2**20:.0f} MB")
    repeats = 1 if quick else 3
    baseline, (reference, _) = best_of(lambda: per_row_parse(path), 1)
    first, data = best_of(lambda: load_kaggle_csv(path, use_cache=False), repeats)
    if not np.array_equal(data.images.reshape(len(data), -1), reference.reshape(len(reference), -1)):
        raise AssertionError("the vectorised parse and the per-row parse disagree")
    load_kaggle_csv(path)  # fills the cache
    cached, hit = best_of(lambda: load_kaggle_csv(path), repeats * 3)
    assert hit.from_cache
    return [
        BenchRow("load 7049-row CSV, first time", first, baseline, "per-row np.fromstring"),
        BenchRow("load 7049-row CSV, cached", cached, first, "first load"),
    ]


SECTIONS = {"loading": bench_loading}
"""Benchmark sections in the order they run; each returns a list of BenchRow."""


def run_benchmarks(quick=False, out=None, say=print):
    """Run every section, print the table, and write ``reports/bench.json``."""
    out = Path(out or paths.REPORTS_DIR / "bench.json")
    rows = []
    with tempfile.TemporaryDirectory(prefix="keypoints-bench-") as folder:
        for name, section in SECTIONS.items():
            rows += section(folder, quick=quick, say=say)
    say("")
    say(format_table(rows))
    record = {
        "quick": quick,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "torch_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    say(f"\nwritten to {out}")
    return rows


def format_table(rows):
    """The rows as an aligned text table, ratio first."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'benchmark':{width}}  {'ratio':>8}  {'ours':>10}  {'baseline':>10}  baseline is"]
    for r in rows:
        lines.append(f"{r.name:{width}}  {r.ratio:7.1f}x  {_amount(r.ours, r.unit):>10}  "
                     f"{_amount(r.baseline, r.unit):>10}  {r.baseline_name}")
    return "\n".join(lines)


def _amount(value, unit):
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"
