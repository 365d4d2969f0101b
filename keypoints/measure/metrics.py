"""Measuring a trained network: RMSE in pixels per keypoint, and inference speed."""

import time

import numpy as np

from keypoints.data.schema import IMAGE_SIZE, KEYPOINTS, column_indices


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
        index = column_indices(columns, (f"{name}_x", f"{name}_y"))
        count = present[:, index].sum()
        per_keypoint[name] = float(np.sqrt(squared[:, index].sum() / count)) if count else float("nan")
    return overall, per_keypoint


def seconds_per_face(module, device="cpu", batch_size=256, repeats=3, autocast_dtype=None):
    """Inference time per face for batches of ``batch_size`` random faces, best of ``repeats``."""
    import torch  # here: the predictor measures NME with this module and runs without torch

    module.eval()
    batch = torch.rand(batch_size, 1, IMAGE_SIZE, IMAGE_SIZE, device=device)
    device_type = torch.device(device).type
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass warms up
        if device_type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.no_grad(), torch.autocast(device_type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            module(batch)
        if device_type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return best / batch_size


def nme(predicted, truth):
    """Mean keypoint error over the inter-ocular distance, over the keypoints the labels hold.

    Parameters
    ----------
    predicted : ndarray, shape (15, 2)
    truth : ndarray, shape (15, 2)
        NaN where a keypoint is missing (it is left out of the mean).

    Returns
    -------
    float
        NaN when an eye centre or every keypoint is missing.
    """
    truth = np.asarray(truth, dtype=np.float64)
    left, right = KEYPOINTS.index("left_eye_center"), KEYPOINTS.index("right_eye_center")
    inter_ocular = np.linalg.norm(truth[left] - truth[right])
    distances = np.linalg.norm(np.asarray(predicted) - truth, axis=1)
    present = np.isfinite(distances)
    if not present.any():
        return float("nan")
    return float(distances[present].mean() / inter_ocular)
