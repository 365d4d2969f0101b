"""Occlusion: how much the prediction error grows when a grey square hides part of the face.

Zeiler and Fergus's test (2014): slide a square patch over the face and
measure, at every position, the error of the prediction with that part
hidden. A network that relies on a region errs when it is hidden.
"""

from typing import NamedTuple

import numpy as np
import torch

from keypoints.data.schema import IMAGE_SIZE
from keypoints.errors import KeypointsError
from keypoints.explain.saliency import _one_face
from keypoints.model.inference import module_device, predict_pixels

DEFAULT_PATCH = 12
"""Side of the grey square, in pixels: about an eye's width on a Kaggle face."""

DEFAULT_STRIDE = 4
"""Pixels between neighbouring patch positions."""

GREY = 128
"""Gray level of the patch: mid-grey, neither a dark feature nor bright skin."""


class OcclusionMap(NamedTuple):
    """The error of the prediction with a patch at each position.

    Attributes
    ----------
    growth : ndarray of float32, shape (Ny, Nx)
        RMSE in pixels with the patch at ``(rows[i], cols[j])`` (its top-left
        corner) minus the RMSE without it.
    rows, cols : ndarray of int, shapes (Ny,) and (Nx,)
        Top-left corners of the patch positions.
    patch : int
    base_error : float
        RMSE in pixels without a patch: against the labels when given, else 0.
    against_labels : bool
        Whether the error is against labelled keypoints (else against the
        unoccluded prediction, i.e. how far the prediction moves).
    """

    growth: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    patch: int
    base_error: float
    against_labels: bool

    def per_pixel(self):
        """The growth as a (96, 96) map: each pixel the mean over the patches covering it."""
        total = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float64)
        count = np.zeros_like(total)
        for i, r in enumerate(self.rows):
            for j, c in enumerate(self.cols):
                total[r : r + self.patch, c : c + self.patch] += self.growth[i, j]
                count[r : r + self.patch, c : c + self.patch] += 1
        return (total / np.maximum(count, 1)).astype(np.float32)


def patch_origins(patch, stride, size=IMAGE_SIZE):
    """Top-left corners along one axis: every ``stride`` pixels, and the last one flush with the edge.

    Raises
    ------
    KeypointsError
        If the patch does not fit or the stride is below 1.
    """
    if not 1 <= patch <= size:
        raise KeypointsError(f"the occlusion patch must be 1 to {size} pixels wide, got {patch}")
    if stride < 1:
        raise KeypointsError(f"the occlusion stride must be at least 1 pixel, got {stride}")
    origins = list(range(0, size - patch + 1, stride))
    if origins[-1] != size - patch:
        origins.append(size - patch)  # so that the whole face is covered
    return np.array(origins)


@torch.no_grad()
def occlusion_map(module, face, labels=None, patch=DEFAULT_PATCH, stride=DEFAULT_STRIDE, fill=GREY, batch_size=128):
    """Error growth of a network's prediction with a grey square at each position of the face.

    Parameters
    ----------
    module : torch.nn.Module
        (B, 1, 96, 96) pixels in [0, 1] -> (B, K) keypoints in [-1, 1]; put in eval mode.
    face : ndarray of uint8, shape (96, 96) or (1, 96, 96)
    labels : ndarray, shape (K,), optional
        True keypoints in pixels (NaN where missing). Without labels (or none
        present) the error is measured against the unoccluded prediction.
    patch, stride : int
        Side of the square and step between positions, in pixels.
    fill : int
        Gray level of the square.
    batch_size : int
        Occluded faces per forward pass.

    Returns
    -------
    OcclusionMap
    """
    face = _one_face(face)
    origins = patch_origins(patch, stride)
    module.eval()
    device = module_device(module)
    clean = predict_pixels(module, face[None, None], device)[0]  # (K,)
    reference = clean
    against_labels = labels is not None and not np.isnan(np.asarray(labels, np.float32)).all()
    if against_labels:
        reference = np.asarray(labels, np.float32)
    base = _rmse(clean[None], reference)[0]
    corners = [(r, c) for r in origins for c in origins]
    errors = []
    for start in range(0, len(corners), batch_size):
        chunk = corners[start : start + batch_size]
        occluded = np.repeat(face[None], len(chunk), axis=0)  # (B, 96, 96)
        for k, (r, c) in enumerate(chunk):
            occluded[k, r : r + patch, c : c + patch] = fill
        errors.append(_rmse(predict_pixels(module, occluded[:, None], device, batch_size), reference))
    growth = (np.concatenate(errors) - base).reshape(len(origins), len(origins)).astype(np.float32)
    return OcclusionMap(growth, origins, origins.copy(), patch, float(base), bool(against_labels))


def _rmse(predicted, reference):
    """RMSE in pixels of each row of ``predicted`` (B, K) over the present values of ``reference`` (K,)."""
    present = ~np.isnan(reference)
    return np.sqrt(((predicted[:, present] - reference[present]) ** 2).mean(axis=1))
