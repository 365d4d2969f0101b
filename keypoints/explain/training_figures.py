"""The explanation figures of ``keypoints train``: every network on the same face.

The face is a validation face, or a synthetic one (:func:`synthetic_face`) where the figures are to be
shared: a face of the real training data may not be redistributed.
"""

from pathlib import Path

import numpy as np

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces
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


def synthetic_face(seed=0):
    """A synthetic face with its exact keypoints, for figures that may be shared.

    Returns
    -------
    FaceToExplain
    """
    images, keypoints = generate_faces(1, seed=seed)
    return FaceToExplain("synthetic", images[0, 0], keypoints[0], f"a synthetic face (seed {seed})")


def write_training_explanations(modules_by_name, prepared, reports_dir, face=None, prefix=""):
    """One saliency and one occlusion figure per network, on the same face.

    Parameters
    ----------
    modules_by_name : dict of str to torch.nn.Module
        Trained networks (30 outputs in ``KEYPOINT_COLUMNS`` order).
    prepared : keypoints.training.trainer.TrainValidSplit
        The split they were trained on.
    reports_dir : str or Path
        Figures go to ``reports_dir/figures/<prefix>saliency_<net>.png`` and ``<prefix>occlusion_<net>.png``.
    face : FaceToExplain, optional
        The face; default: the typical validation face of ``prepared``.
    prefix : str
        Starts every file name (``synthetic_`` keeps figures of a synthetic face apart).

    Returns
    -------
    list of Path
        The figures written, two per network in the order given.
    """
    if face is None:
        index = typical_validation_face(prepared)
        face = FaceToExplain(
            f"valid{index}",
            prepared.valid_images[index, 0],
            prepared.valid_keypoints[index],
            f"validation face {index}",
        )
    figures = Path(reports_dir) / FIGURES
    written = []
    for name, module in modules_by_name.items():
        written += explain_face(
            module,
            KEYPOINT_COLUMNS,
            face,
            f"{name} on {face.source}",
            figures / f"{prefix}saliency_{name}.png",
            figures / f"{prefix}occlusion_{name}.png",
            stride=TRAINING_STRIDE,
        )
    return written


def explanations_markdown(paths, reports_dir, face_source="The same validation face"):
    """The report section that shows the figures of :func:`write_training_explanations` side by side.

    Parameters
    ----------
    paths : list of Path
    reports_dir : str or Path
        Links are relative to it.
    face_source : str
        Opens the section's text: which face the figures show.

    Returns
    -------
    str
        Markdown, starting with a blank line; empty if there are no figures.
    """
    paths = [Path(p) for p in paths]
    # file names are [prefix]saliency_<net>.png and [prefix]occlusion_<net>.png
    figures = {}
    for p in paths:
        for kind in ("saliency", "occlusion"):
            _, found, name = p.stem.partition(f"{kind}_")
            if found:
                figures[(kind, name)] = p
                break
    names = list(dict.fromkeys(name for kind, name in figures if kind == "saliency"))
    if not names:
        return ""
    base = Path(reports_dir)
    lines = [
        "",
        "## What each network looks at",
        "",
        f"{face_source} for every network. Saliency: how far each keypoint moves per gray level "
        "of each pixel (the gradient). Occlusion: how much the RMSE grows when a grey square hides the "
        "region (`keypoints explain` draws these for any face).",
        "",
        "| | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for kind in ("saliency", "occlusion"):
        cells = []
        for n in names:
            p = figures.get((kind, n))
            link = p.relative_to(base).as_posix() if p is not None and p.is_relative_to(base) else p
            cells.append(f"![{kind} {n}]({link})" if p is not None else "-")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
