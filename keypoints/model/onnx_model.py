"""The predictor's network without torch: an ONNX file run by OpenCV's DNN module, and its model card.

``keypoints export`` (:mod:`keypoints.model.export`) writes a model file as ONNX,
with the columns, the network's spec and the model card in the file's
``metadata_props``. This module reads them back with a few lines of protobuf
decoding (the ``onnx`` package is a training extra) and runs the network
through ``cv2.dnn``, which the predictor already needs for its detector::

    model = load_onnx_model("keypoints/assets/default.onnx")
    model.card["best_valid_rmse_px"]                         # the card, without torch
    predict_pixels(model.module, faces)                      # keypoints.model.inference: (N, 30) pixels

:class:`OnnxNetwork` answers the call :func:`keypoints.model.inference.predict_pixels`
makes of a torch module, so the pipeline runs either. Why OpenCV and not onnxruntime:
docs/decisions/0034-the-predictor-runs-onnx.md.
"""

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keypoints.data.transforms import HALF
from keypoints.errors import ModelFileError

FORMAT = "keypoints-model"
"""The ``keypoints.format`` entry of an exported file (as the ``format`` of a .pt model file)."""

VERSION = 1
"""The ``keypoints.version`` entry this keypoints reads."""

KEYS = ("format", "version", "columns", "network", "card", "source_sha256", "max_difference_px")
"""The ``metadata_props`` entries of an exported file, each named ``keypoints.<key>``; values are JSON."""

INPUT_NAME = "faces"
"""The graph's input: (B, 1, 96, 96) float32 gray levels in [0, 1]; B is a dynamic axis."""

OUTPUT_NAME = "keypoints"
"""The graph's output: (B, K) float32 keypoints in [-1, 1]."""

FEATURES_NAME = "features"
"""The graph's second output: (B, C) float32, the maps the network's head reads averaged over their positions, then
for a heatmap network each keypoint's spread (for the learned error estimate,
:mod:`keypoints.predict.estimates.error_head`); files exported before it was added lack it."""

_METADATA_FIELD = 14  # ModelProto.metadata_props: repeated StringStringEntryProto (key = 1, value = 2)


class OnnxModel(NamedTuple):
    """An exported network, loaded for prediction (the fields of :class:`keypoints.model.checkpoint.LoadedModel`).

    Attributes
    ----------
    module : OnnxNetwork
        (B, 1, 96, 96) pixels in [0, 1] -> (B, K) keypoints in [-1, 1].
    network : dict
        The network's spec as plain data (``keypoints.model.checkpoint.network_to_dict``): ``name``, ``layers``...
    columns : tuple of str
    card : dict
        The model card of the file it was exported from.
    path : Path
    """

    module: object
    network: dict
    columns: tuple
    card: dict
    path: Path


class OnnxNetwork:
    """An ONNX network in OpenCV's DNN module, called as :func:`keypoints.model.inference.predict_pixels` calls a
    module.

    Parameters
    ----------
    net : cv2.dnn.Net
    path : Path
        Named in messages.
    data : bytes, optional
        The file's bytes, for copies.
    keypoint_features : int
        How many of the features, at their end, are one per keypoint
        (:func:`keypoints.model.inference.keypoint_feature_count`).
    """

    def __init__(self, net, path, data=None, keypoint_features=0):
        self.net = net
        self.path = Path(path)
        self.data = data  # the file's bytes, for copies
        self.keypoint_features = keypoint_features
        self.has_features = FEATURES_NAME in net.getUnconnectedOutLayersNames()

    def copy(self):
        """The same network in a ``cv2.dnn.Net`` of its own, for another thread (a net's input and outputs are its
        state, so two threads cannot share one)."""
        import cv2

        if self.data is None:
            raise ValueError(f"{self.path}: this network was made without its file's bytes, so it cannot be copied")
        net = cv2.dnn.readNetFromONNX(np.frombuffer(self.data, dtype=np.uint8))
        return OnnxNetwork(net, self.path, self.data, self.keypoint_features)

    def forward(self, scaled):
        """Run the network.

        Parameters
        ----------
        scaled : ndarray of float32, shape (B, 1, 96, 96)
            Gray levels in [0, 1].

        Returns
        -------
        ndarray of float32, shape (B, K)
            Keypoints in [-1, 1].
        """
        self.net.setInput(np.ascontiguousarray(scaled, dtype=np.float32))
        return self.net.forward(OUTPUT_NAME)

    def predict_pixels(self, images, batch_size=256):
        """Keypoints in pixels for faces, as :func:`keypoints.model.inference.predict_pixels`.

        Parameters
        ----------
        images : ndarray of uint8, shape (N, 1, 96, 96)
        batch_size : int

        Returns
        -------
        ndarray of float32, shape (N, K)
        """
        outputs = [
            self.forward(images[start : start + batch_size].astype(np.float32) / 255) * HALF + HALF
            for start in range(0, len(images), batch_size)
        ]
        if not outputs:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(outputs).astype(np.float32, copy=False)

    def predict_pixels_and_features(self, images, batch_size=256):
        """Keypoints in pixels and the feature means, as :func:`keypoints.model.inference.predict_pixels_and_features`.

        Returns
        -------
        pixels : ndarray of float32, shape (N, K)
        features : ndarray of float32, shape (N, C), or None
            None for a file without the ``features`` output.
        """
        if not self.has_features:
            return self.predict_pixels(images, batch_size), None
        pixels, features = [], []
        for start in range(0, len(images), batch_size):
            self.net.setInput(np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32) / 255)
            keypoints, means = self.net.forward([OUTPUT_NAME, FEATURES_NAME])
            pixels.append(keypoints * HALF + HALF)
            features.append(means.reshape(len(means), -1))
        if not pixels:
            return np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(pixels).astype(np.float32, copy=False), np.concatenate(features)


def is_onnx_file(path):
    """Whether a model path names an ONNX file (by its suffix, ``.onnx``)."""
    return Path(path).suffix.lower() == ".onnx"


def load_onnx_model(path):
    """An exported model file, ready to predict, with its card; torch is not imported.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    OnnxModel

    Raises
    ------
    ModelFileError
        The file is missing, is not ONNX, was not written by ``keypoints export``, or OpenCV cannot read it.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"{path}: no such model file. Write one with `keypoints export MODEL.pt --out {path.name}`, "
            "or leave out --model for the shipped model."
        )
    data = path.read_bytes()
    entries = read_metadata(data, path)
    if entries.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: an ONNX file without the keypoints model card (no keypoints.format entry in its "
            "metadata), so its outputs cannot be named; write it with `keypoints export MODEL.pt`."
        )
    if entries.get("version") != VERSION:
        raise ModelFileError(
            f"{path}: exported model version {entries.get('version')}, this keypoints reads version {VERSION}."
        )
    try:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(data, dtype=np.uint8))
    except cv2.error as error:
        last = str(error).strip().splitlines()[-1][:200]
        raise ModelFileError(f"{path}: OpenCV's DNN module cannot read this ONNX file ({last}).") from error
    network = entries["network"]
    module = OnnxNetwork(net, path, data, keypoint_features(network, len(entries["columns"])))
    return OnnxModel(module, network, tuple(entries["columns"]), entries["card"], path)


def keypoint_features(network, outputs):
    """How many trailing features an exported network gives one per keypoint: its keypoints' count after a
    soft-argmax, else 0.

    Parameters
    ----------
    network : dict
        The spec as plain data, with its ``layers``.
    outputs : int
        K, the network's outputs (x and y of each keypoint).
    """
    layers = network.get("layers") if isinstance(network, dict) else None
    last = layers[-1] if isinstance(layers, list) and layers else {}
    return outputs // 2 if isinstance(last, dict) and last.get("kind") == "softargmax" else 0


def read_card(path):
    """The model card stored in an exported file, without torch, OpenCV or the ``onnx`` package.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
    """
    path = Path(path)
    return read_metadata(path.read_bytes(), path).get("card", {})


def read_metadata(data, path="the file"):
    """The ``keypoints.*`` entries of an ONNX file's ``metadata_props``, decoded from JSON.

    Only the top level of the ``ModelProto`` message is walked; the graph
    (weights included) is skipped by its length.

    Parameters
    ----------
    data : bytes
        The whole file.
    path : str or Path
        Named in messages.

    Returns
    -------
    dict
        ``{"format": ..., "columns": [...], "card": {...}, ...}``; empty for an ONNX file without them.

    Raises
    ------
    ModelFileError
        The bytes are not a protobuf message (not an ONNX file), or an entry is not JSON.
    """
    entries = {}
    try:
        for field, value in _fields(memoryview(data)):
            if field != _METADATA_FIELD:
                continue
            pair = dict(_fields(value))
            key, text = bytes(pair.get(1, b"")).decode("utf-8"), bytes(pair.get(2, b"")).decode("utf-8")
            if key.startswith("keypoints."):
                entries[key.removeprefix("keypoints.")] = json.loads(text)
    except (ValueError, IndexError, TypeError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelFileError(
            f"{path}: not an ONNX model file, or a damaged one ({error}); pass a .onnx file written by "
            "`keypoints export`, or a .pt file written by `keypoints train`."
        ) from error
    return entries


def _fields(buffer):
    """``(field number, value)`` of each field of a protobuf message; length-delimited values as memoryviews."""
    position, end = 0, len(buffer)
    while position < end:
        tag, position = _varint(buffer, position)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, position = _varint(buffer, position)
        elif wire == 2:
            length, position = _varint(buffer, position)
            if position + length > end:
                raise ValueError(f"field {field} runs past the end of the data")
            value, position = buffer[position : position + length], position + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, position = bytes(buffer[position : position + size]), position + size
        else:
            raise ValueError(f"wire type {wire} of field {field} is not one protobuf writes")
        if field == 0:
            raise ValueError("field number 0")
        yield field, value


def _varint(buffer, position):
    result = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("a varint longer than 10 bytes")


def metadata_entries(columns, network, card, source_sha256, max_difference_px):
    """The ``keypoints.*`` entries :func:`read_metadata` reads back, as the strings ONNX stores.

    Returns
    -------
    dict of str to str
    """
    values = dict(
        format=FORMAT,
        version=VERSION,
        columns=list(columns),
        network=network,
        card=card,
        source_sha256=source_sha256,
        max_difference_px=max_difference_px,
    )
    return {f"keypoints.{key}": json.dumps(values[key]) for key in KEYS}
