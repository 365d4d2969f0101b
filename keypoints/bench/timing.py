"""Wall-clock timing that covers the device's queued work."""

import time

import torch
from torch.utils import benchmark


def synchronize(device):
    """Wait for the device (a no-op on the CPU), so that wall times cover the work."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(function, device):
    """Wall seconds of ``function()``, the device's queued work included."""
    synchronize(device)
    started = time.perf_counter()
    function()
    synchronize(device)
    return time.perf_counter() - started


def best_of(function, repeats):
    """Shortest wall time of ``repeats`` calls of ``function``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def micro_time(function, min_run_time):
    """Median seconds of ``function()`` by ``torch.utils.benchmark.Timer``, and the spread.

    The timer warms up, runs in blocks for at least ``min_run_time`` seconds at
    the current thread count, and synchronizes CUDA around each block.

    Returns
    -------
    dict
        ``seconds`` (median per call), ``iqr_s`` (interquartile range of the
        blocks) and ``runs`` (calls timed).
    """
    timer = benchmark.Timer(stmt="function()", globals={"function": function}, num_threads=torch.get_num_threads())
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    return {
        "seconds": measurement.median,
        "iqr_s": measurement.iqr,
        "runs": measurement.number_per_run * len(measurement.times),
    }
