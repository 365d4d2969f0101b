"""The text of ``reports/comparison.md``: the verdict first, then the tables, from one training run.

Everything in it is what that run measured; why the recipes and networks are as they are lives in
``docs/decisions.md``.
"""

import platform
from datetime import UTC, datetime

import torch

from keypoints.data.schema import KEYPOINTS
from keypoints.report.stats import paired_difference, spread

PAIRS = (("bnconv", "bnlocal"), ("conv", "local"), ("conv", "hybrid"))
"""Networks compared seed by seed, the shared-weights one first; the first pair trained gives the verdict."""

LEARNING_CURVES = "figures/learning_curves.png"
KEYPOINT_DIFFERENCE = "figures/keypoint_difference.png"


def trained_pairs(run):
    """The pairs of :data:`PAIRS` whose both networks were trained in ``run``."""
    return [(a, b) for a, b in PAIRS if a in run.networks and b in run.networks]


def paired(run, a, b, value):
    """Seed-by-seed values ``value(result)`` of networks ``a`` and ``b``, over the seeds both finished."""
    first = {r.seed: r for r in run.results_of(a)}
    second = {r.seed: r for r in run.results_of(b)}
    seeds = [seed for seed in run.seeds if seed in first and seed in second]
    return [value(first[s]) for s in seeds], [value(second[s]) for s in seeds]


def pair_differences(run, a, b):
    """Paired differences ``b - a`` of the validation RMSE: centred, jittered, and jittered minus centred.

    Returns
    -------
    dict of str to PairedDifference
    """
    centred = paired(run, a, b, lambda r: r.valid_rmse)
    jittered = paired(run, a, b, lambda r: r.jittered_rmse)
    change = (
        [ja - ca for ja, ca in zip(jittered[0], centred[0])],
        [jb - cb for jb, cb in zip(jittered[1], centred[1])],
    )
    return {
        "centred faces": paired_difference(*centred),
        "jittered faces": paired_difference(*jittered),
        "jittered minus centred": paired_difference(*change),
    }


def keypoint_differences(run, a, b):
    """Per-keypoint paired differences ``b - a``, for centred and for jittered faces."""
    return {
        "centred faces": {
            k: paired_difference(*paired(run, a, b, lambda r, k=k: r.per_keypoint[k])) for k in KEYPOINTS
        },
        "jittered faces": {
            k: paired_difference(*paired(run, a, b, lambda r, k=k: r.jittered_per_keypoint[k])) for k in KEYPOINTS
        },
    }


def describe(difference, a, b):
    """One clause on a paired difference ``b - a``, its sign read against its interval."""
    size = f"{abs(difference.mean):.3f} px {'better' if difference.mean < 0 else 'worse'} than `{a}`"
    if difference.n < 2:
        return f"`{b}` is {size} (one seed: no interval)"
    interval = f"95 % interval {difference.low:+.3f} to {difference.high:+.3f} px, {difference.n} seeds"
    if difference.excludes_zero:
        return f"`{b}` is {size} ({interval})"
    return f"no difference between `{b}` and `{a}` is shown ({difference.mean:+.3f} px, {interval})"


def verdict(run):
    """The report's opening sentences: the answer with its uncertainty."""
    pairs = trained_pairs(run)
    if not pairs:
        best = min(run.networks, key=lambda n: spread([r.valid_rmse for r in run.results_of(n)]).mean)
        figure = spread([r.valid_rmse for r in run.results_of(best)])
        return (
            f"No networks that differ only in weight sharing were trained; the most accurate is `{best}` "
            f"at {figure.mean:.3f} px mean validation RMSE over {figure.n} seed(s)."
        )
    a, b = pairs[0]
    differences = pair_differences(run, a, b)
    change = differences["jittered minus centred"]
    if change.n < 2:
        effect = "one seed cannot say whether jitter changes the difference."
    elif change.excludes_zero:
        effect = (
            f"jitter moves the difference by {change.mean:+.3f} px (95 % interval {change.low:+.3f} to "
            f"{change.high:+.3f} px): the effect of weight sharing depends on how centred the faces are."
        )
    else:
        effect = (
            f"jitter does not measurably change the difference ({change.mean:+.3f} px, 95 % interval "
            f"{change.low:+.3f} to {change.high:+.3f} px)."
        )
    return (
        f"On centred faces {describe(differences['centred faces'], a, b)}; on jittered faces "
        f"{describe(differences['jittered faces'], a, b)}; {effect}"
    )


def title(run):
    """The report's title: what was trained, over how many seeds, on what data."""
    data = "synthetic faces" if run.synthetic else f"`{run.data.name}`"
    return f"# {' vs '.join(f'`{n}`' for n in run.networks)}: {len(run.seeds)} seed(s) on {data}"


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
    lines.append(f"| mean of training keypoints | 0 | {run.baseline[0]:.3f} | - | - | - | - | - |")
    return lines


def difference_table(run):
    """Paired differences of every trained pair, with the per-seed values."""
    lines = [
        "| difference | faces | mean (px) | 95 % interval (px) | per seed (px) |",
        "|---|---|---:|---|---|",
    ]
    for a, b in trained_pairs(run):
        centred = paired(run, a, b, lambda r: r.valid_rmse)
        jittered = paired(run, a, b, lambda r: r.jittered_rmse)
        per_seed = {
            "centred faces": [y - x for x, y in zip(*centred)],
            "jittered faces": [y - x for x, y in zip(*jittered)],
        }
        per_seed["jittered minus centred"] = [
            j - c for j, c in zip(per_seed["jittered faces"], per_seed["centred faces"])
        ]
        for faces, difference in pair_differences(run, a, b).items():
            interval = "-" if difference.n < 2 else f"{difference.low:+.3f} to {difference.high:+.3f}"
            seeds = ", ".join(f"{value:+.3f}" for value in per_seed[faces])
            lines.append(f"| `{b}` - `{a}` | {faces} | {difference.mean:+.3f} | {interval} | {seeds} |")
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
    else:
        how = f"AdamW (weight decay {recipe.weight_decay:g}), one-cycle rate peaking at {recipe.lr:g}"
    if recipe.jitter:
        degrees, scale, shift = recipe.jitter
        how += (
            f"; faces rotated up to {degrees:g} degrees, scaled up to {100 * scale:g} % and shifted up to {shift:g} px"
        )
    return f"{how}; batch {recipe.batch_size}; at most {recipe.epochs} epochs, patience {recipe.patience}"


def device_description(device):
    """The device in words: the GPU's name, or the CPU and its threads."""
    if device == "cuda":
        return f"CUDA: {torch.cuda.get_device_name()}, bf16 autocast"
    return f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def comparison_markdown(run):
    """The whole report's text (without the explanation figures' section)."""
    degrees, scale, shift = run.jitter
    split = run.split
    lines = [title(run), "", f"**{verdict(run)}**", ""]
    if run.synthetic:
        lines += ["**These results are on SYNTHETIC faces** (no training data was found); see `data/README.md`.", ""]
    lines += [
        f"- data: `{run.data.name}` (sha256 `{split.sha256[:16]}`); split {split.split}",
        f"- preset `{run.preset}`; seeds {', '.join(map(str, run.seeds))}, the same split and recipe for every "
        "network; a difference is paired by seed",
        f"- device: {device_description(run.device)}; the whole run took {run.seconds / 60:.1f} min "
        f"({datetime.now(UTC):%Y-%m-%d})",
        "- RMSE in pixels of the 96x96 face over the validation faces (split as above), at the best "
        "epoch's weights; ± is the standard deviation over seeds",
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
    pairs = trained_pairs(run)
    if pairs:
        a, b = pairs[0]
        lines += ["## Paired differences", "", *difference_table(run), ""]
        lines += [f"## Per keypoint: `{b}` against `{a}`", "", *keypoint_table(run, a, b), ""]
        lines += [f"![per-keypoint difference, {b} - {a}]({KEYPOINT_DIFFERENCE})", ""]
    lines += ["## Learning curves", "", f"![learning curves]({LEARNING_CURVES})", ""]
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
    lines += ["", f"Repeat with: `{run.command()}`", ""]
    return "\n".join(lines)
