"""The explanation figures of ``keypoints train``: every network on the same validation face."""

from pathlib import Path

import numpy as np

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.explain.images import explain_face
from keypoints.explain.sources import FaceToExplain

FIGURES = "figures"

TRAINING_STRIDE = 6
"""Occlusion stride of the training report's figures: 225 positions instead of 484 at
``keypoints explain``'s 4, which keeps ``local`` on 2 CPU cores near 12 s instead of 24 s."""


def typical_validation_face(prepared):
    """Index of the validation face whose labelled keypoints are closest to the training mean.

    A typical, fully labelled face, so the figures show what the networks do
    in the common case; the same face for every network of a run.
    """
    mean = np.nanmean(prepared.train_keypoints, axis=0)
    complete = ~np.isnan(prepared.valid_keypoints).any(axis=1)
    distance = np.where(complete, np.nanmean((prepared.valid_keypoints - mean) ** 2, axis=1), np.inf)
    if not np.isfinite(distance).any():  # no complete face: the one with most labels
        distance = np.isnan(prepared.valid_keypoints).sum(axis=1).astype(float)
    return int(np.argmin(distance))


def write_training_explanations(modules_by_name, prepared, reports_dir):
    """One saliency and one occlusion figure per network, on the same validation face.

    Parameters
    ----------
    modules_by_name : dict of str to torch.nn.Module
        Trained networks (30 outputs in ``KEYPOINT_COLUMNS`` order).
    prepared : keypoints.training.trainer.TrainValidSplit
        The split they were trained on.
    reports_dir : str or Path
        Figures go to ``reports_dir/figures/saliency_<net>.png`` and ``occlusion_<net>.png``.

    Returns
    -------
    list of Path
        The figures written, two per network in the order given.
    """
    index = typical_validation_face(prepared)
    face = FaceToExplain(
        f"valid{index}", prepared.valid_images[index, 0], prepared.valid_keypoints[index], f"validation face {index}"
    )
    figures = Path(reports_dir) / FIGURES
    written = []
    for name, module in modules_by_name.items():
        written += explain_face(
            module,
            KEYPOINT_COLUMNS,
            face,
            f"{name} on {face.source}",
            figures / f"saliency_{name}.png",
            figures / f"occlusion_{name}.png",
            stride=TRAINING_STRIDE,
        )
    return written


def explanations_markdown(paths, reports_dir):
    """The report section that shows the figures of :func:`write_training_explanations` side by side.

    Returns
    -------
    str
        Markdown, starting with a blank line; empty if there are no figures.
    """
    paths = [Path(p) for p in paths]
    names = [p.stem[len("saliency_") :] for p in paths if p.stem.startswith("saliency_")]
    if not names:
        return ""
    relative = {
        p.name: p.relative_to(Path(reports_dir)).as_posix() if p.is_relative_to(Path(reports_dir)) else p.as_posix()
        for p in paths
    }
    lines = [
        "",
        "## What each network looks at",
        "",
        "The same validation face for every network. Saliency: how far each keypoint moves per gray level "
        "of each pixel (the gradient). Occlusion: how much the RMSE grows when a grey square hides the "
        "region (`keypoints explain` draws these for any face).",
        "",
        "| | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for kind in ("saliency", "occlusion"):
        cells = [
            f"![{kind} {n}]({relative[f'{kind}_{n}.png']})" if f"{kind}_{n}.png" in relative else "-" for n in names
        ]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
