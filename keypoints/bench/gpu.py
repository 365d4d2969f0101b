"""GPU rows: training throughput with each speedup setting, and the time to the best validation RMSE."""

import os

from keypoints import paths
from keypoints.bench.settings import TRAINING_NETWORKS
from keypoints.bench.table import BenchRow
from keypoints.bench.training import training_throughput
from keypoints.data.splits import VALID_FRACTION
from keypoints.training.faces import synthetic_split
from keypoints.training.presets import recipe_for
from keypoints.training.trainer import prepare, train_one

GPU_VARIANTS = ("none", "channels_last", "channels_last,cudagraphs")
"""The speedup settings a GPU bench compares (see :mod:`keypoints.training.speed`). ``cudagraphs``
is ``torch.compile`` with CUDA graphs; ``compile`` alone (no graphs) is left out to keep the GPU
bench within minutes: each compiled variant costs tens of seconds per network."""

TIME_TO_BEST_TARGET_S = {"conv": 60.0, "local": 180.0}
"""Seconds on one H200 for the full preset to reach its best validation RMSE; see
docs/decisions/0057-bench-time-to-best-targets.md."""


def speedup_rows(settings, device, variants=GPU_VARIANTS, say=print, networks=TRAINING_NETWORKS):
    """Training throughput of our trainer with each speedup setting, against none.

    Returns
    -------
    tuple of (list of BenchRow, dict)
        The rows, and the fastest setting by network (for :func:`bench_time_to_best`).
    """
    batch = settings.size("train_batch")
    rows, winners = [], {}
    for name in networks:
        results = {}
        for variant in variants:
            try:
                results[variant] = training_throughput(
                    name,
                    device,
                    settings.size("gpu_faces"),
                    batch,
                    settings.size("gpu_epochs"),
                    settings.size("rounds"),
                    variant,
                    plain=False,
                    say=say,
                )
            except Exception as error:  # a variant that fails to compile is reported, and the others still run
                say(f"training {name} with {variant}: failed ({type(error).__name__}: {error})")
        if "none" not in results:
            continue
        winner = max(results, key=lambda v: results[v]["ours"])
        winners[name] = winner
        for variant, result in results.items():
            if variant == "none":
                continue
            rows.append(
                BenchRow(
                    f"train {name} on GPU: speedups {variant}",
                    result["ours"],
                    results["none"]["ours"],
                    "no speedups",
                    unit="img/s",
                    higher_is_better=True,
                    section="gpu",
                    details={"warmup_s": result["warmup_s"], "winner": winner},
                )
            )
    return rows, winners


def bench_time_to_best(settings, device, winners, say=print, networks=TRAINING_NETWORKS):
    """Seconds to train each network with the full preset to its best validation RMSE (:func:`train_one`).

    Parameters
    ----------
    settings : BenchSettings
    device : str
    winners : dict
        Speedup setting by network (from :func:`speedup_rows`); a network not in it gets the default.
    say : callable
    networks : sequence of str

    Returns
    -------
    list of BenchRow
    """
    prepared, source = time_to_best_data(settings, say)
    rows = []
    for name in networks:
        recipe = recipe_for(name, "full", settings.epochs)
        speedups = winners.get(name)
        result, _ = train_one(name, prepared, recipe, device=device, seed=0, verbose=0, speedups=speedups)
        to_best = sum(row["dur"] for row in result.history if row["epoch"] <= result.best_epoch)
        say(
            f"{name}: best validation RMSE {result.best_valid_rmse:.3f} px at epoch {result.best_epoch} "
            f"after {to_best:.1f} s ({result.epochs} epochs, {result.seconds:.1f} s in all; speedups {speedups})"
        )
        target = TIME_TO_BEST_TARGET_S[name]
        rows.append(
            BenchRow(
                f"{name}: full preset to its best validation RMSE",
                to_best,
                target,
                "target on one H200",
                section="gpu",
                details={
                    "best_valid_rmse_px": result.best_valid_rmse,
                    "best_epoch": result.best_epoch,
                    "epochs_run": result.epochs,
                    "epochs_planned": recipe.epochs,
                    "total_s": result.seconds,
                    "data": source,
                    "speedups": speedups,
                    "meets_target": to_best <= target,
                },
            )
        )
    return rows


def time_to_best_data(settings, say=print):
    """The faces of the time-to-best rows: --data, else KEYPOINTS_DATA_DIR's training file, else synthetic.

    Returns
    -------
    tuple of (TrainValidSplit, str)
        The split, and where it came from.
    """
    path = settings.data
    if not path and os.environ.get("KEYPOINTS_DATA_DIR"):
        path = paths.find_training_file(os.environ["KEYPOINTS_DATA_DIR"])
    if path:
        return prepare(path, say=say, skip_option=None), str(path)  # bench has no --skip-bad-rows
    n = settings.size("time_to_best_faces")
    say(f"time to best: no data given (--data or KEYPOINTS_DATA_DIR), so {n} synthetic faces")
    split = synthetic_split(n, seed=0, valid_fraction=VALID_FRACTION)
    return split, f"synthetic ({n} faces)"
