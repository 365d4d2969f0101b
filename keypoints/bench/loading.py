"""Loading: our vectorised parse against the tutorials' per-row parse, and the cached load."""

from pathlib import Path

import numpy as np
import pandas as pd

from keypoints.bench.settings import KAGGLE_COMPLETE, KAGGLE_ROWS
from keypoints.bench.table import BenchRow
from keypoints.bench.timing import best_of
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.synthetic import drop_keypoints_like_kaggle
from keypoints.data.writer import write_kaggle_csv


def write_kaggle_sized_file(path, rows=KAGGLE_ROWS, seed=0):
    """A file shaped like the real ``training.csv``: 7049 rows, 2140 complete (that share), random pixels.

    Random pixels cost nothing to make and parse like real ones (the same
    spread of 1-, 2- and 3-digit values).
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (rows, 1, 96, 96), dtype=np.uint8)
    keypoints = rng.uniform(10, 86, (rows, 30)).round(6)
    keypoints = drop_keypoints_like_kaggle(keypoints, 1 - KAGGLE_COMPLETE / KAGGLE_ROWS, seed=seed)
    return write_kaggle_csv(path, images, keypoints)


def per_row_parse(path):
    """The tutorials' loader: ``read_csv``, then ``np.fromstring`` on each row's ``Image``.

    Returns
    -------
    tuple of (ndarray of float64, shape (N, 1, 96, 96), ndarray, shape (N, 30))
    """
    frame = pd.read_csv(path)
    images = np.vstack(frame["Image"].apply(lambda text: np.fromstring(text, sep=" ")).to_numpy())
    return images.reshape(-1, 1, 96, 96), frame.drop(columns="Image").to_numpy()


def bench_loading(folder, settings, say=print):
    """First load against the per-row parse, and the cached load against the first load.

    Returns
    -------
    list of BenchRow
    """
    rows = settings.size("csv_rows")
    path = write_kaggle_sized_file(Path(folder) / "training.csv", rows=rows)
    say(f"loading: made {path.name}, {rows} rows, {path.stat().st_size / 2**20:.0f} MB")
    baseline, (reference, _) = best_of(lambda: per_row_parse(path), 1)
    first, data = best_of(lambda: load_kaggle_csv(path, use_cache=False), settings.repeats)
    if not np.array_equal(data.images.reshape(len(data), -1), reference.reshape(len(reference), -1)):
        raise AssertionError("the vectorised parse and the per-row parse disagree")
    load_kaggle_csv(path)  # fills the cache
    cached, hit = best_of(lambda: load_kaggle_csv(path), settings.repeats * 3)
    if not hit.from_cache:
        raise AssertionError(f"{path}: the second load did not come from the cache")
    return [
        BenchRow(f"load {rows}-row CSV, first time", first, baseline, "per-row np.fromstring"),
        BenchRow(f"load {rows}-row CSV, cached", cached, first, "first load"),
    ]
