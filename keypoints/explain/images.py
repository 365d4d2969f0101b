"""``keypoints explain``: saliency, occlusion and filter figures for faces, with one model."""

from pathlib import Path
from typing import NamedTuple

from keypoints import atomic
from keypoints.data.schema import KEYPOINT_COLUMNS, column_indices
from keypoints.errors import KeypointsError
from keypoints.explain.figures import plot_filters, plot_occlusion, plot_saliency
from keypoints.explain.filters import first_layer_filters
from keypoints.explain.occlusion import DEFAULT_PATCH, DEFAULT_STRIDE, occlusion_map, patch_origins
from keypoints.explain.saliency import check_keypoint, saliency
from keypoints.explain.sources import faces_from_spec
from keypoints.model.checkpoint import load_model
from keypoints.model.inference import module_device, predict_pixels

DEFAULT_KEYPOINT = "nose_tip"
"""The keypoint whose saliency gets its own panel unless another is asked for."""


class Explained(NamedTuple):
    """What :func:`explain_images` did.

    Attributes
    ----------
    written : list of Path
        Every figure written.
    problems : list of tuple of (str, KeypointsError)
        The IMAGE arguments that could not be explained, with the reason.
    """

    written: list
    problems: list


def explain_images(
    model_path, specs, out_dir, keypoint=DEFAULT_KEYPOINT, patch=DEFAULT_PATCH, stride=DEFAULT_STRIDE, say=print
):
    """Write the figures of ``keypoints explain``.

    For the model: ``filters_<network>.png``. For each face:
    ``<label>_saliency.png`` and ``<label>_occlusion.png`` (labels as in
    :class:`~keypoints.explain.sources.FaceToExplain`: ``training_row12``).

    Parameters
    ----------
    model_path : str or Path
    specs : sequence of str
        IMAGE arguments: ``FILE.csv:ROWS`` or photos (see :mod:`keypoints.explain.sources`).
    out_dir : str or Path
    keypoint : str
        Keypoint of the single-keypoint saliency panel.
    patch, stride : int
        Occlusion patch side and step, in pixels.
    say : callable
        Where progress lines go.

    Returns
    -------
    Explained
        A bad IMAGE argument is recorded in ``problems`` and the others are
        still explained.

    Raises
    ------
    KeypointsError
        A bad model file, keypoint name or occlusion geometry: nothing could be explained.
    """
    atomic.check_output_folder(out_dir)  # a bad --out fails before any work, too
    model = load_model(model_path)
    check_keypoint(model.columns, keypoint)  # a bad option fails before any work
    patch_origins(patch, stride)
    out_dir = Path(out_dir)
    name = model.network.name
    filters = first_layer_filters(model.module)
    written = [
        plot_filters(
            filters, out_dir / f"filters_{name}.png", f"{name}: first-layer filters ({filters.layer}, {filters.kind})"
        )
    ]
    say(f"wrote {written[-1]}")
    problems = []
    for spec in specs:
        try:
            faces = faces_from_spec(spec, model)
        except KeypointsError as error:
            problems.append((spec, error))
            continue
        for face in faces:
            written += explain_face(
                model.module,
                model.columns,
                face,
                f"{name} on {face.source}",
                out_dir / f"{face.label}_saliency.png",
                out_dir / f"{face.label}_occlusion.png",
                keypoint,
                patch,
                stride,
            )
            say(f"{face.source}: wrote {written[-2].name}, {written[-1].name}")
    earlier = atomic.results_files(out_dir) or set()  # figures of earlier runs stay listed: they are outputs too
    atomic.record_results(
        out_dir, [p.name for p in written], "keypoints explain", keep=earlier
    )  # never read back as photos
    return Explained(written, problems)


def explain_face(
    module,
    columns,
    face,
    title,
    saliency_path,
    occlusion_path,
    keypoint=DEFAULT_KEYPOINT,
    patch=DEFAULT_PATCH,
    stride=DEFAULT_STRIDE,
):
    """Write the saliency and occlusion figures of one face.

    Parameters
    ----------
    module : torch.nn.Module
        (B, 1, 96, 96) -> (B, K), on any device.
    columns : sequence of str, length K
        The module's output columns.
    face : FaceToExplain
    title : str
    saliency_path, occlusion_path : str or Path
    keypoint : str
    patch, stride : int

    Returns
    -------
    list of Path
        The two figures.
    """
    device = module_device(module)
    predicted = predict_pixels(module, face.image[None, None], device=str(device))[0]
    labels = None
    if face.labels is not None:  # labels come in KEYPOINT_COLUMNS order, the outputs in the model's
        labels = face.labels[column_indices(KEYPOINT_COLUMNS, columns)]
    gradients = saliency(module, face.image)
    occlusion = occlusion_map(module, face.image, labels, patch=patch, stride=stride)
    return [
        plot_saliency(face.image, predicted, gradients, columns, keypoint, saliency_path, title),
        plot_occlusion(face.image, predicted, occlusion, occlusion_path, title),
    ]
