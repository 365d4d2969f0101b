"""The comparison report that ``keypoints train`` writes for people to read.

``reports/comparison.md`` holds one table row per network plus the baseline
that predicts the training mean, the RMSE of every keypoint, and what the
figures say; ``reports/figures/`` holds the learning curves and the
per-keypoint RMSE as PNG.
"""

import platform
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from keypoints import atomic
from keypoints.data.schema import KEYPOINTS  # noqa: E402


def write_comparison(results, baseline, prepared, settings, device, reports_dir, explanations=()):
    """Write ``comparison.md`` and its two figures; returns the report's path.

    ``explanations``: saliency and occlusion figures already written (see
    :func:`keypoints.explain.training_figures.write_training_explanations`), shown side by side.
    """
    reports_dir = Path(reports_dir)
    figures = reports_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    plot_learning_curves(results, baseline[0], figures / "learning_curves.png")
    plot_per_keypoint(results, baseline[1], figures / "per_keypoint_rmse.png")
    path = reports_dir / "comparison.md"
    text = comparison_markdown(results, baseline, prepared, settings, device)
    if explanations:
        from keypoints.explain.training_figures import explanations_markdown

        text += explanations_markdown(explanations, reports_dir)
    atomic.write_text(path, text)
    return path


def comparison_markdown(results, baseline, prepared, settings, device):
    """The report's text."""
    base_rmse, base_per_keypoint = baseline
    lines = [
        "# Convolutional vs locally-connected networks",
        "",
        f"Written by `keypoints train` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    if prepared.synthetic:
        lines += [
            "**These results are on SYNTHETIC faces** (no training data was found); "
            "see `data/README.md` for the real data.",
            "",
        ]
    lines += [
        f"- data: `{prepared.source}` (sha256 `{prepared.sha256[:16]}`)",
        f"- split: {prepared.split}",
        f"- preset: `{settings.preset}`" + (f", epochs forced to {settings.epochs}" if settings.epochs else ""),
        f"- device: {device_description(device)}",
        "- RMSE is in pixels of the 96x96 face, over the validation faces, on every present coordinate.",
        "",
        "| network | parameters | epochs (best) | training time | s/epoch | best validation RMSE | "
        "RMSE vs mean | inference ms/face | training state MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        gpu = f" (GPU peak {r.peak_gpu_mb:.0f})" if r.peak_gpu_mb else ""
        lines.append(
            f"| `{r.name}` | {r.params:,} | {r.epochs} ({r.best_epoch}) | {r.seconds:.0f} s | "
            f"{r.seconds / max(r.epochs, 1):.1f} | **{r.valid_rmse:.3f}** | {r.valid_rmse / base_rmse:.2f}x | "
            f"{r.ms_per_face:.3f} | {r.train_state_mb:.0f}{gpu} |"
        )
    lines.append(f"| mean of training keypoints | 0 | - | - | - | {base_rmse:.3f} | 1.00x | - | - |")
    lines += [
        "",
        "## RMSE per keypoint (pixels)",
        "",
        "| keypoint | " + " | ".join(f"`{r.name}`" for r in results) + " | mean |",
        "|---|" + "---:|" * (len(results) + 1),
    ]
    for name in KEYPOINTS:
        cells = [f"{r.per_keypoint[name]:.2f}" for r in results] + [f"{base_per_keypoint[name]:.2f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "![learning curves](figures/learning_curves.png)",
        "",
        "![RMSE per keypoint](figures/per_keypoint_rmse.png)",
        "",
        "## What the comparison shows",
        "",
    ]
    lines += [f"- {sentence}" for sentence in findings(results, base_rmse)]
    lines += ["", "## The networks", ""]
    lines += [f"- `{r.name}`: {r.description}" for r in results]
    lines += [
        "",
        "## The recipe",
        "",
        "Every network trains with the masked mean-squared error (missing keypoints add nothing), "
        "half of each batch mirrored with left and right keypoints swapped, and early stopping on "
        "validation RMSE with the best weights restored.",
        "",
    ]
    lines += [f"- `{r.name}`: {recipe_text(r.recipe)}" for r in results if getattr(r, "recipe", None)]
    lines += [
        "",
        "Why this recipe (figures in `keypoints/training/presets.py` and `keypoints/networks/specs.py`): "
        "after 5 epochs on the stand-in, `local` reached 2.74 px with AdamW and a one-cycle rate "
        "peaking at 1e-3 against 4.06 px with the classic recipe (Nesterov momentum, rate 0.03 to "
        "0.0001), which was made for thousands of epochs; and Nouri's dropout (0.1, 0.2, 0.3 after "
        "the pools, 0.5 between the dense layers) left it at 7.07 px in eval mode, so the classic "
        "networks keep one dropout of 0.2 between their dense layers. `bnconv` has batch norm, "
        "which lets AdamW with a one-cycle rate train it in minutes.",
        "",
        f"Repeat with: `{repeat_command(settings)}`",
        "",
    ]
    return "\n".join(lines)


def recipe_text(recipe):
    """One line describing a training recipe."""
    if recipe.optimizer == "nesterov":
        how = f"Nesterov momentum, rate {recipe.lr:g} to 0.0001 and momentum 0.9 to 0.999 linearly"
    else:
        how = f"AdamW (weight decay {recipe.weight_decay:g}), one-cycle rate peaking at {recipe.lr:g}"
    jitter = getattr(recipe, "jitter", None)
    if jitter:
        how += (
            f"; faces rotated up to {jitter[0]:g} degrees, scaled up to {100 * jitter[1]:g} % and shifted up to "
            f"{jitter[2]:g} px at random"
        )
    return f"{how}; batch {recipe.batch_size}; at most {recipe.epochs} epochs, patience {recipe.patience}"


def findings(results, base_rmse):
    """Plain sentences about the table: who wins, by how much, at what cost."""
    if not results:
        return ["No network was trained."]
    ranked = sorted(results, key=lambda r: r.valid_rmse)
    best = ranked[0]
    said = [
        f"`{best.name}` is the most accurate: {best.valid_rmse:.3f} px, "
        f"{best.valid_rmse / base_rmse:.2f}x the error of predicting the mean ({base_rmse:.3f} px)."
    ]
    by_name = {r.name: r for r in results}
    if "conv" in by_name and "local" in by_name:
        conv, local = by_name["conv"], by_name["local"]
        verdict = "better than" if local.valid_rmse < conv.valid_rmse else "worse than"
        said.append(
            f"Without weight sharing, `local` is {verdict} `conv` ({local.valid_rmse:.3f} vs "
            f"{conv.valid_rmse:.3f} px) with {local.params / conv.params:.1f}x the parameters and "
            f"{(local.seconds / max(local.epochs, 1)) / (conv.seconds / max(conv.epochs, 1)):.1f}x the time "
            "per epoch."
        )
    for r in results:
        if r.valid_rmse >= base_rmse:
            said.append(
                f"`{r.name}` did not beat the mean in {r.epochs} epochs: it needs longer training "
                "(`PRESET=full`, on a GPU) to say anything about the architecture."
            )
    return said


def repeat_command(settings):
    from keypoints.training.trainer import command_line

    return command_line(settings)


def device_description(device):
    if device == "cuda":
        return f"CUDA: {torch.cuda.get_device_name()}, bf16 autocast"
    return f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def plot_learning_curves(results, base_rmse, path):
    """Train and validation RMSE per epoch, every network on one plot."""
    figure, axes = plt.subplots(figsize=(8, 5))
    for index, r in enumerate(results):
        color = f"C{index}"
        epochs = [row["epoch"] for row in r.history]
        axes.plot(epochs, [row["valid_rmse"] for row in r.history], color=color, label=f"{r.name} validation")
        axes.plot(
            epochs, [row["train_rmse"] for row in r.history], color=color, linestyle="--", label=f"{r.name} train"
        )
    axes.axhline(base_rmse, color="gray", linestyle=":", label="mean baseline")
    axes.set(xlabel="epoch", ylabel="RMSE (pixels)", yscale="log", title="Learning curves")
    axes.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes.yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    with atomic.replacing(path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)


def plot_per_keypoint(results, base_per_keypoint, path):
    """Validation RMSE of each keypoint, a bar per network and for the mean baseline."""
    figure, axes = plt.subplots(figsize=(10, 5))
    series = [(r.name, r.per_keypoint) for r in results] + [("mean", base_per_keypoint)]
    width = 0.8 / len(series)
    x = np.arange(len(KEYPOINTS))
    for index, (name, values) in enumerate(series):
        axes.bar(
            x + index * width,
            [values[k] for k in KEYPOINTS],
            width,
            label=name,
            color="gray" if name == "mean" else f"C{index}",
        )
    axes.set_xticks(x + 0.4 - width / 2, KEYPOINTS, rotation=60, ha="right", fontsize=8)
    axes.set(ylabel="RMSE (pixels)", title="Validation RMSE per keypoint")
    axes.legend(fontsize=8)
    figure.tight_layout()
    with atomic.replacing(path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
