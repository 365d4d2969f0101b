"""The figures of the comparison report: learning curves in panels, per-keypoint differences with intervals."""

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot loads)
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from keypoints import atomic  # noqa: E402
from keypoints.data.schema import KEYPOINTS  # noqa: E402


def plot_learning_curves(run, path):
    """Train and validation RMSE per epoch: one panel per network, one line per seed, own x axis each.

    Parameters
    ----------
    run : keypoints.training.trainer.TrainingRun
    path : Path
        PNG to write.
    """
    names = list(run.networks)
    figure, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names) + 0.8, 4.2), sharey=True, squeeze=False)
    for axis, name in zip(axes[0], names):
        for index, result in enumerate(run.results_of(name)):
            epochs = [row["epoch"] for row in result.history]
            color = f"C{index}"
            axis.plot(epochs, [row["valid_rmse"] for row in result.history], color=color, label=f"seed {result.seed}")
            axis.plot(epochs, [row["train_rmse"] for row in result.history], color=color, linestyle="--", alpha=0.6)
            axis.plot([result.best_epoch], [result.best_valid_rmse], marker="o", color=color)
        axis.axhline(run.baseline[0], color="gray", linestyle=":", label="mean baseline")
        axis.set(title=name, xlabel="epoch", yscale="log")
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        axis.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
        axis.tick_params(axis="y", which="minor", labelsize=7)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, title="validation (solid), train (dashed)", title_fontsize=7)
    axes[0][0].set_ylabel("RMSE (pixels)")
    figure.suptitle("Learning curves (dot: best epoch, whose weights are kept)")
    figure.tight_layout()
    with atomic.replacing(path) as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)


def plot_keypoint_differences(rows, title, path):
    """The paired difference per keypoint with its interval, for centred and jittered faces.

    Parameters
    ----------
    rows : dict of str to dict of str to PairedDifference
        ``{"centred faces": {keypoint: difference}, "jittered faces": {...}}``.
    title : str
    path : Path
    """
    figure, axis = plt.subplots(figsize=(8, 6))
    y = np.arange(len(KEYPOINTS))
    offsets = np.linspace(-0.15, 0.15, max(len(rows), 1))
    for offset, (label, differences) in zip(offsets, rows.items()):
        means = np.array([differences[k].mean for k in KEYPOINTS])
        low = np.array([differences[k].low for k in KEYPOINTS])
        high = np.array([differences[k].high for k in KEYPOINTS])
        errors = np.nan_to_num(np.vstack([means - low, high - means]))
        axis.errorbar(means, y + offset, xerr=errors, fmt="o", capsize=3, label=label)
    axis.axvline(0, color="gray", linewidth=1)
    axis.set_yticks(y, KEYPOINTS, fontsize=8)
    axis.invert_yaxis()
    axis.set(xlabel="RMSE difference (pixels; below 0: the locally-connected twin is better)", title=title)
    axis.grid(True, axis="x", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic.replacing(path) as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)
