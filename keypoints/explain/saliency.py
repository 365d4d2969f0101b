"""Saliency: the gradient of each predicted keypoint with respect to the input pixels.

What ``T.grad(prediction[k], input)`` gave in Theano: how much keypoint ``k``
moves per gray level of each pixel, at this face. Large values mark the
pixels the prediction depends on most, to first order.
"""

import numpy as np
import torch

from keypoints.data.schema import IMAGE_SIZE, KEYPOINTS, column_indices
from keypoints.errors import KeypointsError
from keypoints.model.inference import forward_pixels, module_device


def saliency(module, face):
    """Gradient of every output of ``module`` with respect to every pixel of one face.

    Parameters
    ----------
    module : torch.nn.Module
        (B, 1, 96, 96) pixels in [0, 1] -> (B, K) keypoints in [-1, 1]; put in eval mode.
    face : ndarray of uint8, shape (96, 96) or (1, 96, 96)
        Gray pixels 0-255.

    Returns
    -------
    ndarray of float32, shape (K, 96, 96)
        ``[k, r, c]`` = d(output ``k`` in pixels) / d(gray level of pixel (r, c)).

    Notes
    -----
    The face is repeated ``K`` times in one batch and output ``k`` of copy
    ``k`` is back-propagated, so one backward pass gives all ``K`` gradients
    (the copies do not interact in eval mode).
    """
    face = _one_face(face)
    module.eval()
    x = torch.from_numpy(face.astype(np.float32)).to(module_device(module))[None, None]  # (1, 1, 96, 96)
    with torch.no_grad():
        n_outputs = forward_pixels(module, x).shape[1]
    batch = x.repeat(n_outputs, 1, 1, 1).requires_grad_(True)  # (K, 1, 96, 96) gray levels
    with torch.enable_grad():
        out = forward_pixels(module, batch)  # (K, K) in pixels
        out.diagonal().sum().backward()
    return batch.grad[:, 0].float().cpu().numpy()


def keypoint_saliency(gradients, columns, keypoint=None):
    """Saliency of one keypoint, or of all of them summed, as one map.

    Parameters
    ----------
    gradients : ndarray, shape (K, H, W)
        From :func:`saliency`.
    columns : sequence of str, length K
        ``<keypoint>_x`` / ``<keypoint>_y`` names of the outputs.
    keypoint : str, optional
        A keypoint name (``nose_tip``); None sums over every keypoint.

    Returns
    -------
    ndarray of float32, shape (H, W)
        The length of the gradient of the keypoint's (x, y), in pixels per
        gray level; for all keypoints, the sum of those lengths.

    Raises
    ------
    KeypointsError
        For a keypoint that is not among the columns.
    """
    columns = list(columns)
    names = [check_keypoint(columns, keypoint)] if keypoint else [c[:-2] for c in columns if c.endswith("_x")]
    total = np.zeros(gradients.shape[1:], np.float32)
    for name in names:
        gx, gy = gradients[column_indices(columns, (f"{name}_x", f"{name}_y"))]
        total += np.hypot(gx, gy)
    return total


def check_keypoint(columns, keypoint):
    """``keypoint`` if the columns hold its x and y; else a KeypointsError listing the known names."""
    columns = list(columns)
    if f"{keypoint}_x" not in columns or f"{keypoint}_y" not in columns:
        known = ", ".join(k for k in KEYPOINTS if f"{k}_x" in columns)
        raise KeypointsError(f"unknown keypoint {keypoint!r}; this model predicts: {known}")
    return keypoint


def _one_face(face):
    face = np.asarray(face)
    if face.shape == (1, IMAGE_SIZE, IMAGE_SIZE):
        face = face[0]
    if face.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise KeypointsError(f"a face must be a {IMAGE_SIZE}x{IMAGE_SIZE} gray image, got shape {face.shape}")
    return face
