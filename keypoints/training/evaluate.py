"""Measuring a trained network: predictions in batches, RMSE in pixels per keypoint, speed."""

import time

import numpy as np
import torch

from keypoints.data.schema import KEYPOINTS
from keypoints.data.transforms import flip_horizontal, scale_images, unscale_keypoints


@torch.no_grad()
def predict_pixels(module, images, device="cpu", batch_size=256, autocast_dtype=None):
    """Keypoints in pixels for faces.

    Parameters
    ----------
    module : torch.nn.Module
        In eval mode: (B, 1, 96, 96) in [0, 1] -> (B, K) in [-1, 1].
    images : ndarray of uint8, shape (N, 1, 96, 96)
    device : str
    batch_size : int
    autocast_dtype : torch.dtype, optional

    Returns
    -------
    ndarray of float32, shape (N, K)
    """
    module.eval()
    outputs = []
    device_type = torch.device(device).type
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(scale_images(images[start : start + batch_size])).to(device)
        with torch.autocast(device_type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            outputs.append(module(batch).float().cpu().numpy())
    if not outputs:
        return np.zeros((0, 0), dtype=np.float32)
    return unscale_keypoints(np.concatenate(outputs))


def predict_pixels_flip_averaged(module, images, columns, mirror_sum, **kwargs):
    """Keypoints in pixels, averaged over each face and its mirror image.

    The mirrored face's prediction is mirrored back (x to ``mirror_sum - x``,
    left and right keypoints swapped) before averaging, so a network's
    left-right bias cancels out. Costs two passes.

    Parameters
    ----------
    module : torch.nn.Module
    images : ndarray of uint8, shape (N, 1, 96, 96)
    columns : sequence of str, length K
        The network's output columns, for the left/right swap.
    mirror_sum : float
        x + mirrored x of the labels the network learned (the model card's
        ``flip_mirror_sum_px``).
    **kwargs
        As for :func:`predict_pixels`.

    Returns
    -------
    ndarray of float32, shape (N, K)
    """
    straight = predict_pixels(module, images, **kwargs)
    mirrored = predict_pixels(module, np.ascontiguousarray(images[..., ::-1]), **kwargs)
    _, back = flip_horizontal(images[:0], mirrored, columns, scaled=False, mirror_sum=mirror_sum)
    return ((straight + back) / 2).astype(np.float32)


def rmse_per_keypoint(predicted, truth, columns):
    """RMSE in pixels, overall and per keypoint, over the present coordinates only.

    Parameters
    ----------
    predicted, truth : ndarray, shape (N, 2 * P)
        In pixels; NaN in ``truth`` marks a missing coordinate.
    columns : sequence of str
        ``<keypoint>_x``/``<keypoint>_y`` names of the columns.

    Returns
    -------
    tuple of (float, dict of str to float)
        The RMSE over every present coordinate, and for each keypoint the RMSE
        over its present x and y (NaN for a keypoint never present).
    """
    present = ~np.isnan(truth)
    squared = np.where(present, (predicted - np.nan_to_num(truth)) ** 2, 0.0)
    overall = float(np.sqrt(squared.sum() / max(present.sum(), 1)))
    per_keypoint = {}
    for name in KEYPOINTS:
        index = [list(columns).index(f"{name}_x"), list(columns).index(f"{name}_y")]
        count = present[:, index].sum()
        per_keypoint[name] = float(np.sqrt(squared[:, index].sum() / count)) if count else float("nan")
    return overall, per_keypoint


@torch.no_grad()
def seconds_per_face(module, device="cpu", batch_size=256, repeats=3, autocast_dtype=None):
    """Inference time per face for batches of ``batch_size`` random faces, best of ``repeats``."""
    module.eval()
    batch = torch.rand(batch_size, 1, 96, 96, device=device)
    device_type = torch.device(device).type
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass warms up
        if device_type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.autocast(device_type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            module(batch)
        if device_type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return best / batch_size
