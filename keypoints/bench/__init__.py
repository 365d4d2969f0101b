"""``make bench``: speed figures as ratios against baselines measured in the same run.

Each section times our way and a baseline on the same input, one after the
other in this process, so the ratio holds on any machine even though the
absolute times (printed beside it, for information) do not. One module per
section, each returning its rows; :mod:`keypoints.bench.runner` runs them in
order, prints the table and writes ``reports/bench.json``.
"""

from keypoints.bench.runner import run_benchmarks
from keypoints.bench.settings import SIZES, BenchSettings
from keypoints.bench.table import BenchRow, format_table

__all__ = ["SIZES", "BenchRow", "BenchSettings", "format_table", "run_benchmarks"]
