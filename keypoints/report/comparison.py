"""The text of ``reports/comparison.md``: the verdict first, then the tables, from one training run.

Everything in it is what that run measured; why the recipes and networks are as they are lives in
the records of ``docs/decisions/README.md``.
"""

import platform
from datetime import UTC, datetime

import numpy as np
import torch

from keypoints.data.schema import KEYPOINTS
from keypoints.report.differences import (
    describe,
    headline,
    keypoint_differences,
    method_words,
    pair_differences,
    paired,
    per_cent,
    reference,
    trained_pairs,
    verdict,
)
from keypoints.report.reproducibility import reproducibility_section, run_label
from keypoints.report.shipping import photos_section, shipping_section
from keypoints.report.stats import spread

LEARNING_CURVES = "figures/learning_curves.png"
KEYPOINT_DIFFERENCE = "figures/keypoint_difference.png"


def title(run):
    """The report's title: what was trained, over how many seeds (on how many splits), on what data."""
    data = "synthetic faces" if run.synthetic else f"`{run.data.name}`"
    splits = ", each on its own split," if run.split_per_seed else ""
    return f"# {' vs '.join(f'`{n}`' for n in run.networks)}: {len(run.seeds)} seed(s){splits} on {data}"


def _mean_std(values, digits=3):
    figure = spread(values)
    if figure.n < 2:
        return f"{figure.mean:.{digits}f}"
    return f"{figure.mean:.{digits}f} ± {figure.std:.{digits}f}"


def network_table(run):
    """Accuracy and cost, one row per network and one for the mean baseline."""
    lines = [
        "| network | parameters | validation RMSE, centred | validation RMSE, jittered | epochs run (best), "
        "per seed | s/epoch | inference ms/face | training memory MB |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name in run.networks:
        results = run.results_of(name)
        if not results:
            continue
        epochs = ", ".join(f"{r.epochs} ({r.best_epoch})" for r in results)
        per_epoch = sum(r.seconds for r in results) / max(sum(r.epochs for r in results), 1)
        milliseconds = sum(r.ms_per_face for r in results) / len(results)
        gpu = f" (GPU peak {results[0].peak_gpu_mb:.0f})" if results[0].peak_gpu_mb else ""
        lines.append(
            f"| `{name}` | {results[0].params:,} | **{_mean_std([r.valid_rmse for r in results])}** | "
            f"{_mean_std([r.jittered_rmse for r in results])} | {epochs} | {per_epoch:.1f} | {milliseconds:.3f} | "
            f"{results[0].train_memory_mb:.0f}{gpu} |"
        )
    baseline = run.baseline[0]
    if run.split_per_seed and run.splits:  # each split has its own training mean: their mean over the seeds
        baseline = float(np.mean([split["baseline_rmse"] for split in run.splits.values()]))
    lines.append(f"| mean of training keypoints | 0 | {baseline:.3f} | - | - | - | - | - |")
    return lines


def difference_table(run):
    """Paired differences of every trained pair, in px and per cent, with the precision and the per-seed values."""
    lines = [
        "| difference | faces | mean (px) | mean (%) | 95 % interval (px) | verdict | detectable, 80 % (px) | "
        "per seed (px) |",
        "|---|---|---:|---:|---|---|---:|---|",
    ]
    for a, b in trained_pairs(run):
        values = {
            "centred faces": lambda r: r.valid_rmse,
            "jittered faces": lambda r: r.jittered_rmse,
            "jittered minus centred": lambda r: r.jittered_rmse - r.valid_rmse,
        }
        bases = {faces: reference(run, a, b) for faces in values}
        bases["jittered faces"] = reference(run, a, b, values["jittered faces"])  # each % of its own faces' RMSE
        for faces, difference in pair_differences(run, a, b).items():
            base = bases[faces]
            first, second = paired(run, a, b, values[faces])
            seeds = ", ".join(f"{y - x:+.3f}" for x, y in zip(first, second))
            interval = "-" if difference.n < 2 else f"{difference.low:+.3f} to {difference.high:+.3f}"
            detectable = "-" if difference.n < 2 else f"{difference.detectable:.3f}"
            lines.append(
                f"| `{b}` - `{a}` | {faces} | {difference.mean:+.3f} | {per_cent(difference.mean, base):+.1f} | "
                f"{interval} | {difference.verdict} | {detectable} | {seeds} |"
            )
    return lines


def seed_figures_table(run, a, b):
    """Seed by seed: the split, both networks' RMSE (best epoch of epochs run) and the difference."""
    lines = [
        f"| seed | split: train / validation faces | `{a}` | `{b}` | `{b}` - `{a}` |",
        "|---:|---|---:|---:|---:|",
    ]
    first = {r.seed: r for r in run.results_of(a)}
    second = {r.seed: r for r in run.results_of(b)}
    for seed in run.seeds:
        if seed not in first or seed not in second:
            continue
        x, y = first[seed], second[seed]
        split = f"seed {seed if run.split_per_seed else run.settings.seed}: {x.n_train} / {x.n_valid}"
        lines.append(
            f"| {seed} | {split} | {x.valid_rmse:.3f} ({x.best_epoch} of {x.epochs}) | "
            f"{y.valid_rmse:.3f} ({y.best_epoch} of {y.epochs}) | {y.valid_rmse - x.valid_rmse:+.3f} |"
        )
    return lines


def keypoint_table(run, a, b):
    """Per-keypoint RMSE of a pair (mean over seeds) and the paired difference with its interval."""
    differences = keypoint_differences(run, a, b)
    lines = [
        f"| keypoint | `{a}` | `{b}` | `{b}` - `{a}`, centred | 95 % interval "
        f"| `{b}` - `{a}`, jittered | 95 % interval |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for k in KEYPOINTS:
        cells = [
            f"{spread([r.per_keypoint[k] for r in run.results_of(a)]).mean:.3f}",
            f"{spread([r.per_keypoint[k] for r in run.results_of(b)]).mean:.3f}",
        ]
        for faces in ("centred faces", "jittered faces"):
            d = differences[faces][k]
            cells += [f"{d.mean:+.3f}", "-" if d.n < 2 else f"{d.low:+.3f} to {d.high:+.3f}"]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return lines


def recipe_text(recipe):
    """One line describing a training recipe."""
    if recipe.optimizer == "nesterov":
        how = f"Nesterov momentum, rate {recipe.lr:g} to 0.0001 and momentum 0.9 to 0.999 linearly"
    elif recipe.schedule == "plateau":
        warm = f"warmed up linearly over {recipe.warmup_epochs} epoch(s) to " if recipe.warmup_epochs else ""
        how = (
            f"AdamW (weight decay {recipe.weight_decay:g}), rate {warm}{recipe.lr:g}, then multiplied by "
            f"{recipe.plateau_factor:g} after {recipe.plateau_patience + 1} epoch(s) without a validation RMSE "
            f"{100 * recipe.min_gain:g} % better"
        )
    else:
        how = f"AdamW (weight decay {recipe.weight_decay:g}), one-cycle rate peaking at {recipe.lr:g}"
    if recipe.jitter:
        degrees, scale, shift = recipe.jitter
        how += (
            f"; faces rotated up to {degrees:g} degrees, scaled up to {100 * scale:g} % and shifted up to {shift:g} px"
        )
    return f"{how}; batch {recipe.batch_size}; at most {recipe.epochs} epochs, patience {recipe.patience}"


def device_description(run):
    """The device in words: the GPU's name, or the CPU and its threads during training."""
    if run.device == "cuda":
        return "CUDA, bf16 autocast"
    machine = (run.versions or {}).get("machine") or platform.processor() or platform.machine()
    threads = run.threads if run.threads is not None else torch.get_num_threads()
    return f"CPU: {machine}, {threads} torch thread{'s' if threads != 1 else ''}"


def short_run_words(run, conclusive):
    """For a run of another preset: that it is the short run, and whether it agrees with the conclusive one."""
    if run.preset == "conclusive":
        return []
    words = (
        f"This is the short run (preset `{run.preset}`: {len(run.seeds)} seeds on one split, a fixed number of "
        "epochs); the verdict on weight sharing is the conclusive run's, "
        "`keypoints train --preset conclusive`, in [`conclusive.md`](conclusive.md)"
    )
    mine = headline(run)
    theirs = headline(conclusive) if conclusive is not None else None
    if theirs is None:
        return [f"{words}: no conclusive run of this data is recorded in `reports/runs/`.", ""]
    if mine is None:
        return [f"{words}. This run trained no pair of twins to compare with it.", ""]
    a, b, d, base = theirs
    agree = "agrees with" if mine[2].verdict == d.verdict else "does NOT agree with"
    return [
        f"{words}. This run's verdict ({mine[2].verdict}) {agree} the conclusive run's: on centred faces "
        f"{describe(d, a, b, base)}, {run_label(conclusive)}.",
        "",
    ]


def comparison_markdown(run, others=(), conclusive=None, left_out=(), photo_twins=None, photo_recipe=None):
    """The whole report's text (without the explanation figures' section).

    Parameters
    ----------
    run : TrainingRun
        The headline run.
    others : sequence of TrainingRun
        Its reruns and the short runs of the same data, for the reproducibility section.
    conclusive : TrainingRun, optional
        The conclusive run a short run is checked against.
    left_out : sequence of str
        The records of the preset's runs with another recipe, named in the reproducibility section.
    photo_twins : TrainingRun, optional
        A run that trained both twins on labelled photos, for the section on photos
        (:func:`keypoints.report.shipping.twins_on_photos`).
    photo_recipe : tuple of TrainingRun, optional
        Each twin's run with the photo recipe, for the section on shipping
        (:func:`keypoints.report.shipping.photo_recipe_twins`).
    """
    figures = figure_names(run.preset)
    degrees, scale, shift = run.jitter
    split = run.split
    lines = [title(run), "", f"**{verdict(run)}**", "", *short_run_words(run, conclusive)]
    if run.synthetic:
        lines += ["**These results are on SYNTHETIC faces** (no training data was found); see `data/README.md`.", ""]
    if not run.finished:
        lines += [f"**This run stopped before its end: {len(run.results)} of its training runs finished.**", ""]
    pairs = trained_pairs(run)
    splits = (
        "every seed on its own split by person, drawn with the seed; a difference is paired by seed"
        if run.split_per_seed
        else "the same split and recipe for every network; a difference is paired by seed"
    )
    lines += [
        f"- data: `{run.data.name}` (sha256 `{split.sha256[:16]}`); split {split.split}"
        + (" (the first seed's; every seed draws its own, see Seed by seed)" if run.split_per_seed else ""),
        f"- preset `{run.preset}`; seeds {', '.join(map(str, run.seeds))}, {splits}",
        f"- device: {device_description(run)}; the whole run took {run.seconds / 60:.1f} min "
        f"({(run.started or datetime.now(UTC).isoformat())[:10]})",
        "- RMSE in pixels of the 96x96 face over the validation faces, at the best epoch's weights; "
        "± is the standard deviation over seeds; per cent is of the first twin's mean RMSE",
    ]
    if pairs:
        lines.append(f"- test: {method_words(run, *pairs[0])}")
    lines += [
        f"- jittered: the same validation faces rotated up to {degrees:g} degrees, scaled up to {100 * scale:g} % "
        f"and shifted up to {shift:g} px at random (one fixed draw), as a detector's crops are",
        "- training memory: computed from the layer geometry (float32 weights, gradients, optimizer moments and "
        "every activation kept for the backward pass, at the recipe's batch), not measured",
        "",
        "## Accuracy and cost",
        "",
        *network_table(run),
        "",
    ]
    if pairs:
        a, b = pairs[0]
        lines += ["## Paired differences", "", *difference_table(run), ""]
        lines += ["## Seed by seed", "", *seed_figures_table(run, a, b), ""]
        found = headline(run)
        if found is not None:
            lines += shipping_section(run, *found, photo_twins=photo_twins, photo_recipe=photo_recipe)
        lines += photos_section(photo_twins)
        lines += reproducibility_section(run, list(others), left_out)
        lines += [f"## Per keypoint: `{b}` against `{a}`", "", *keypoint_table(run, a, b), ""]
        lines += [f"![per-keypoint difference, {b} - {a}]({figures['keypoints']})", ""]
    lines += ["## Learning curves", "", *convergence_words(run), f"![learning curves]({figures['curves']})", ""]
    lines += ["## The networks", ""]
    lines += [f"- `{name}`: {run.results_of(name)[0].description}" for name in run.networks if run.results_of(name)]
    lines += [
        "",
        "`keypoints summary NET` prints each network's layers, volumes and parameters.",
        "",
        "## The recipe",
        "",
        "Masked mean-squared error (missing keypoints add nothing), half of each batch mirrored with left and right "
        "keypoints swapped, early stopping on validation RMSE with the best weights kept.",
        "",
    ]
    lines += [
        f"- `{name}`: {recipe_text(run.results_of(name)[0].recipe)}" for name in run.networks if run.results_of(name)
    ]
    threads = f"OMP_NUM_THREADS={run.threads} " if run.device == "cpu" and run.threads else ""
    lines += ["", f"Repeat with: `{threads}{run.command()}`", ""]
    return "\n".join(lines)


def convergence_words(run):
    """How many training runs early stopping ended before their last epoch, per network."""
    parts = []
    for name in run.networks:
        results = run.results_of(name)
        if not results:
            continue
        stopped = sum(r.epochs < r.recipe.epochs for r in results)
        ran = sorted(r.epochs for r in results)
        lengths = f"{ran[0]}" if ran[0] == ran[-1] else f"{ran[0]}-{ran[-1]}"
        best = float(np.median([r.best_epoch for r in results]))
        parts.append(
            f"`{name}` {stopped} of {len(results)} (at most {results[0].recipe.epochs} epochs; runs of {lengths} "
            f"epochs, best epoch median {best:g})"
        )
    return ["Runs that early stopping ended before their last epoch: " + "; ".join(parts) + ".", ""]


def figure_names(preset):
    """The report's figure files: the conclusive report's have their own names, so no short run draws over them."""
    if preset == "conclusive":
        return {
            "curves": "figures/conclusive_learning_curves.png",
            "keypoints": "figures/conclusive_keypoint_difference.png",
        }
    return {"curves": LEARNING_CURVES, "keypoints": KEYPOINT_DIFFERENCE}
