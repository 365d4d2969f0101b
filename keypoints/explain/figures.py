"""The explanation figures as PNG files (matplotlib, files only)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keypoints.data.schema import column_indices  # noqa: E402
from keypoints.explain.saliency import keypoint_saliency  # noqa: E402

DPI = 100


def plot_saliency(face, predicted, gradients, columns, keypoint, path, title=""):
    """Face with its predicted keypoints, the saliency of one keypoint, and of all keypoints summed.

    Parameters
    ----------
    face : ndarray of uint8, shape (96, 96)
    predicted : ndarray, shape (K,)
        Predicted keypoints in pixels.
    gradients : ndarray, shape (K, 96, 96)
        From :func:`keypoints.explain.saliency.saliency`.
    columns : sequence of str, length K
    keypoint : str
        The keypoint of the middle panel.
    path : str or Path

    Returns
    -------
    Path
    """
    one = keypoint_saliency(gradients, columns, keypoint)
    every = keypoint_saliency(gradients, columns, None)
    figure, axes = plt.subplots(1, 3, figsize=(10.5, 3.8))
    _face(axes[0], face, predicted, "prediction")
    index = column_indices(columns, (f"{keypoint}_x", f"{keypoint}_y"))
    _overlay(figure, axes[1], face, one, f"saliency of {keypoint}", "px per gray level")
    axes[1].plot(predicted[index[0]], predicted[index[1]], "c+", markersize=12, markeredgewidth=2)
    _overlay(figure, axes[2], face, every, "saliency summed over all keypoints", "px per gray level")
    return _save(figure, path, title)


def plot_occlusion(face, predicted, occlusion, path, title=""):
    """Face with its predicted keypoints, and the error growth under a grey patch at each position.

    Parameters
    ----------
    face : ndarray of uint8, shape (96, 96)
    predicted : ndarray, shape (K,)
    occlusion : OcclusionMap
    path : str or Path

    Returns
    -------
    Path
    """
    figure, axes = plt.subplots(1, 2, figsize=(7.5, 3.8))
    _face(axes[0], face, predicted, "prediction")
    against = "labels" if occlusion.against_labels else "unoccluded prediction"
    _overlay(
        figure,
        axes[1],
        face,
        occlusion.per_pixel(),
        f"error growth, {occlusion.patch}px patch\n(RMSE vs {against}, {occlusion.base_error:.2f} px without)",
        "px of RMSE",
        cmap="RdBu_r",
        symmetric=True,
    )  # red: hiding it hurts; blue: it helps
    return _save(figure, path, title)


def plot_filters(filters, path, title="", max_filters=32):
    """First-layer filters: one row per bank (a convolution has one; a local layer one per position).

    Parameters
    ----------
    filters : FirstLayerFilters
    path : str or Path
    max_filters : int
        Filters shown per bank.

    Returns
    -------
    Path
    """
    banks = list(filters.banks.items())
    n = min(max_filters, len(banks[0][1]))
    columns = min(n, 16)
    rows_per_bank = (n + columns - 1) // columns
    figure, axes = plt.subplots(
        len(banks) * rows_per_bank,
        columns,
        figsize=(columns * 0.6, len(banks) * rows_per_bank * 0.75 + 0.8),
        squeeze=False,
    )
    for b, (label, bank) in enumerate(banks):
        limit = np.abs(bank[:n]).max() or 1.0
        for k in range(rows_per_bank * columns):
            axis = axes[b * rows_per_bank + k // columns, k % columns]
            axis.set_axis_off()
            if k < n:
                # channel 0: the first layer of a gray-face network sees one channel
                axis.imshow(bank[k, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        where = filters.positions.get(label)
        text = label if where is None else f"{label} (x {where[0]:.0f}, y {where[1]:.0f})"
        axes[b * rows_per_bank, 0].text(
            -0.6, 0.5, text, transform=axes[b * rows_per_bank, 0].transAxes, ha="right", va="center", fontsize=8
        )
    if filters.kind == "local":
        title += f"\nbanks differ by {100 * filters.relative_difference():.0f}% (mean relative distance)"
    return _save(figure, path, title, left=0.2)


def _face(axis, face, predicted, title):
    axis.imshow(face, cmap="gray", vmin=0, vmax=255)
    axis.plot(predicted[0::2], predicted[1::2], "r.", markersize=5)
    axis.set_title(title, fontsize=9)
    axis.set_axis_off()


def _overlay(figure, axis, face, values, title, unit, cmap="inferno", symmetric=False):
    axis.imshow(face, cmap="gray", vmin=0, vmax=255)
    limit = float(np.abs(values).max()) or 1.0
    shown = axis.imshow(values, cmap=cmap, alpha=0.6, **({"vmin": -limit, "vmax": limit} if symmetric else {}))
    axis.set_title(title, fontsize=9)
    axis.set_axis_off()
    bar = figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.04)
    bar.set_label(unit, fontsize=8)
    bar.ax.tick_params(labelsize=7)


def _save(figure, path, title, left=None):
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    if left is not None:
        figure.subplots_adjust(left=left)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
