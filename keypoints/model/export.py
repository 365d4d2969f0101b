"""``keypoints export``: a model file (.pt) as ONNX for OpenCV's DNN module, checked against torch.

The graph has static shapes but for the batch axis, which stays dynamic
(OpenCV's importer reads it: every reshape names its sizes, -1 for the batch;
see docs/decisions/0035-exporting-the-locally-connected-layer.md).
The locally-connected layers trace to plain operators
(:meth:`keypoints.networks.local.LocallyConnected2d.forward_plain_ops`). The
columns, the network's spec and the model card go into ``metadata_props``
(:func:`keypoints.model.onnx_model.metadata_entries`), so the file alone is a model.

Before anything is written, the exported network runs in OpenCV on faces at
batch 1 and batch ``CHECK_FACES`` and is compared with torch; a file whose
keypoints differ by more than ``TOLERANCE_PX`` is not written.
"""

import hashlib
import io
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keypoints import atomic
from keypoints.data.schema import IMAGE_SIZE
from keypoints.errors import ModelFileError, OutputPathError

OPSET = 17
"""The ONNX operator set written: one that OpenCV 4.10 and later read."""

CHECK_FACES = 24
"""Faces the export is checked on: synthetic faces and noise, run one at a time and as one batch."""

TOLERANCE_PX = 0.01
"""The largest keypoint difference from torch, in 96-frame pixels, that an exported file may have."""


FEATURE_TOLERANCE = 1e-4
"""The largest difference from torch of the exported feature means (the error estimate's inputs), as a share of
their largest value."""


class Exported(NamedTuple):
    """What :func:`export_model` wrote."""

    path: Path
    network: str
    max_difference_px: float
    """Largest difference from torch over the check faces' keypoints, 96-frame pixels."""
    size_bytes: int


def export_model(source, out=None, force=False):
    """Export a model file to ONNX with its model card, checked against torch in OpenCV.

    Parameters
    ----------
    source : str or Path
        A .pt file written by ``keypoints train`` (or the shipped ``default.pt``).
    out : str or Path, optional
        Default: beside ``source``, with the suffix ``.onnx``.
    force : bool
        Replace ``out`` if it exists (else an existing file is refused).

    Returns
    -------
    Exported

    Raises
    ------
    OutputPathError
        ``out`` exists (without ``force``), is the source, or cannot be written.
    ModelFileError
        ``source`` is not a model file, or the export differs from torch by more than ``TOLERANCE_PX``.
    """
    from keypoints.model.checkpoint import load_model, network_to_dict
    from keypoints.model.onnx_model import metadata_entries

    source = Path(source)
    out = Path(out) if out is not None else source.with_suffix(".onnx")
    atomic.check_output_file(out, "--out", inputs=[source])
    if out.exists() and not force:
        raise OutputPathError(
            f"--out {atomic.show(out)} exists; pass --force to replace it, or name another file with --out"
        )
    model = load_model(source)
    graph = _export_graph(model.module)
    difference = check_against_torch(model.module, graph, source)
    entries = metadata_entries(model.columns, network_to_dict(model.network), model.card, _sha256(source), difference)
    data = _with_metadata(graph, entries)
    atomic.write_bytes(out, data)
    return Exported(out, model.network.name, difference, len(data))


def check_against_torch(module, graph, path="the export"):
    """Largest keypoint difference between torch and the exported graph in OpenCV, at batch 1 and in one batch.

    Parameters
    ----------
    module : torch.nn.Module
    graph : bytes
        The ONNX file.
    path : str or Path
        Named in messages.

    Returns
    -------
    float
        96-frame pixels.

    Raises
    ------
    ModelFileError
        OpenCV cannot read the graph, or the difference exceeds ``TOLERANCE_PX``.
    """
    import cv2

    from keypoints.model.inference import predict_pixels, predict_pixels_and_features
    from keypoints.model.onnx_model import OnnxNetwork

    try:
        net = OnnxNetwork(cv2.dnn.readNetFromONNX(np.frombuffer(graph, dtype=np.uint8)), path)
    except cv2.error as error:
        raise ModelFileError(
            f"{path}: OpenCV's DNN module cannot read the exported network "
            f"({str(error).strip().splitlines()[-1][:200]}); nothing was written"
        ) from error
    faces = check_faces()
    expected = predict_pixels(module, faces)
    one_by_one = np.concatenate([net.predict_pixels(faces[i : i + 1]) for i in range(len(faces))])
    batched = net.predict_pixels(faces)
    difference = float(max(np.abs(one_by_one - expected).max(), np.abs(batched - expected).max()))
    if net.has_features:  # the error estimate's inputs must match too: relative to their own scale
        _, expected_features = predict_pixels_and_features(module, faces)
        _, features = net.predict_pixels_and_features(faces)
        scale = max(float(np.abs(expected_features).max()), 1e-6)
        feature_difference = float(np.abs(features - expected_features).max()) / scale
        if not feature_difference <= FEATURE_TOLERANCE:
            raise ModelFileError(
                f"{path}: the exported network's features differ from torch's by up to {feature_difference:.3g} "
                f"of their largest value (more than {FEATURE_TOLERANCE}) in OpenCV's DNN module; nothing was written"
            )
    if not difference <= TOLERANCE_PX:  # NaN fails too
        raise ModelFileError(
            f"{path}: the exported network's keypoints differ from torch's by up to {difference:.3g} px "
            f"(more than {TOLERANCE_PX} px) in OpenCV's DNN module; nothing was written"
        )
    return difference


def check_faces(n=CHECK_FACES, seed=0):
    """Faces to compare torch and the export on: synthetic faces, and noise for the last quarter.

    Returns
    -------
    ndarray of uint8, shape (n, 1, 96, 96)
    """
    from keypoints.data.synthetic import generate_faces

    faces, _ = generate_faces(n, seed=seed)
    noise = np.random.default_rng(seed).integers(0, 256, size=(n // 4, 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    faces[n - len(noise) :] = noise
    return faces


def _export_graph(module):
    """The ONNX bytes of a module: (B, 1, 96, 96) in [0, 1] -> (B, K) in [-1, 1], batch axis dynamic; and, for a
    network with a dense head, (B, C) the means of the maps that head reads (``FEATURES_NAME``)."""
    import torch

    from keypoints.model.onnx_model import FEATURES_NAME, INPUT_NAME, OUTPUT_NAME

    with_features = _with_features(module)
    outputs = [OUTPUT_NAME, FEATURES_NAME] if with_features is not None else [OUTPUT_NAME]

    buffer = io.BytesIO()
    example = torch.rand(2, 1, IMAGE_SIZE, IMAGE_SIZE)
    with warnings.catch_warnings():
        # the TorchScript exporter is the one whose graphs OpenCV reads; it warns that it is no longer the default
        warnings.simplefilter("ignore")
        torch.onnx.export(
            (with_features if with_features is not None else module).eval(),
            (example,),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in [INPUT_NAME, *outputs]},
        )
    return buffer.getvalue()


def _with_features(module):
    """A module giving a ``nn.Sequential`` network's keypoints and its features
    (:func:`keypoints.model.inference.head_outputs`), or None without a dense or heatmap head."""
    import torch

    from keypoints.model.inference import head_outputs, split_at_head

    parts = split_at_head(module)
    if parts is None:
        return None

    class WithFeatures(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = parts

        def forward(self, faces):
            return head_outputs(self.head, self.body(faces))

    return WithFeatures()


def _with_metadata(graph, entries):
    import onnx

    proto = onnx.load_from_string(graph)
    del proto.metadata_props[:]
    for key, value in entries.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "keypoints"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
