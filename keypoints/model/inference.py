"""Inference: a network's keypoints in pixels for 96x96 faces, in batches, optionally flip-averaged.

The one place that scales faces in, runs the module and scales keypoints out
(:func:`forward_pixels`); prediction, explanation, submission, evaluation,
the fully-convolutional windows and the benchmarks call it. The module is a
torch network or an exported one (:class:`keypoints.model.onnx_model.OnnxNetwork`,
which the predictor runs by default); torch is imported only for a torch network.
"""

import sys
import threading
from contextlib import contextmanager

import numpy as np

from keypoints.data.transforms import HALF, flip_horizontal


def module_device(module):
    """The device of a module's first parameter (CPU for a module without any)."""
    import torch

    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def forward_pixels(module, gray):
    """Gray levels in, keypoints in pixels out: scale, forward, unscale, on tensors.

    The tensor twin of ``scale_images`` and ``unscale_keypoints`` (same float32
    arithmetic), differentiable with respect to ``gray`` for saliency.

    Parameters
    ----------
    module : torch.nn.Module
        (B, D, H, W) pixels in [0, 1] -> keypoints in [-1, 1], shape (B, K) (or
        (B, K, Hn, Wn) for a fully-convolutional network).
    gray : Tensor, shape (B, D, H, W)
        Gray levels 0-255, any dtype, on the module's device.

    Returns
    -------
    Tensor of float32, shape (B, K) or (B, K, Hn, Wn)
        Keypoints in pixels of the frame the module reads.
    """
    import torch

    scaled = gray.to(torch.float32) / 255
    return module(scaled).float() * HALF + HALF


def predict_pixels(module, images, device=None, batch_size=256, autocast_dtype=None):
    """Keypoints in pixels for faces.

    Parameters
    ----------
    module : torch.nn.Module or OnnxNetwork
        In eval mode: (B, 1, 96, 96) in [0, 1] -> (B, K) in [-1, 1]. An
        :class:`~keypoints.model.onnx_model.OnnxNetwork` runs on the CPU (``device``
        and ``autocast_dtype`` are for torch).
    images : ndarray of uint8, shape (N, 1, 96, 96)
    device : str, optional
        Default: the module's own device.
    batch_size : int
    autocast_dtype : torch.dtype, optional

    Returns
    -------
    ndarray of float32, shape (N, K)
    """
    if hasattr(module, "predict_pixels"):
        return module.predict_pixels(images, batch_size=batch_size)
    import torch

    module.eval()
    outputs = []
    device = module_device(module) if device is None else torch.device(device)
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            # uint8 crosses to the device, a quarter of the float32 bytes
            batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size])).to(device)
            with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                outputs.append(forward_pixels(module, batch).cpu().numpy())
    if not outputs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(outputs)


def predict_pixels_and_features(module, images, batch_size=256):
    """Keypoints in pixels and what the network's head reads, averaged over its positions.

    The features feed a model's learned error estimate (:mod:`keypoints.predict.estimates.error_head`).

    Parameters
    ----------
    module : torch.nn.Module or OnnxNetwork
        As for :func:`predict_pixels`; a torch network's maps are those :func:`split_at_head` finds,
        an exported one's its ``features`` output.
    images : ndarray of uint8, shape (N, 1, 96, 96)
    batch_size : int

    Returns
    -------
    pixels : ndarray of float32, shape (N, K)
    features : ndarray of float32, shape (N, C + S), or None
        The maps' means (C), then for a heatmap network each keypoint's spread (S = K / 2, 96-frame px; see
        :func:`keypoint_feature_count`). None for a network without such maps (or an export written before they
        were added).
    """
    if hasattr(module, "predict_pixels_and_features"):
        return module.predict_pixels_and_features(images, batch_size=batch_size)
    import torch

    parts = split_at_head(module)
    if parts is None:
        return predict_pixels(module, images, batch_size=batch_size), None
    body, head = parts
    module.eval()
    device = module_device(module)
    pixels, features = [], []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size])).to(device)
            # the two halves called in turn, not a hook: the module may be shared by the predictor's worker threads
            keypoints, means = head_outputs(head, body(batch.to(torch.float32) / 255))
            pixels.append((keypoints.float() * HALF + HALF).cpu().numpy())
            features.append(means.float().cpu().numpy())
    if not pixels:
        return np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(pixels), np.concatenate(features)


def split_at_head(module):
    """A ``nn.Sequential`` network as (its body, its head), or None for a network with neither head.

    The head is a dense one (from the first ``nn.Flatten`` on) or a heatmap one (the convolution that makes the
    heatmaps and the soft-argmax after it); the body's output is what the head reads.
    """
    import torch

    from keypoints.networks.heatmaps import SoftArgmax2d

    if not isinstance(module, torch.nn.Sequential) or not len(module):
        return None
    at = next((i for i, child in enumerate(module) if isinstance(child, torch.nn.Flatten)), None)
    if at is None and isinstance(module[-1], SoftArgmax2d) and len(module) > 2:
        at = len(module) - 2
    return None if at is None else (module[:at], module[at:])


def head_outputs(head, maps):
    """A head's keypoints and the features of :func:`predict_pixels_and_features`, from the maps it reads (tensors).

    A heatmap head makes its heatmaps and their softmax once for both.

    Returns
    -------
    keypoints : Tensor, shape (B, K)
        In [-1, 1].
    features : Tensor, shape (B, C) or, after a heatmap head, (B, C + K / 2)
    """
    import torch

    from keypoints.networks.heatmaps import SoftArgmax2d

    means = position_means(maps)
    if not isinstance(head[-1], SoftArgmax2d):
        return head(maps), means
    keypoints, spreads = head[-1].read(head[:-1](maps))
    return keypoints, torch.cat([means, spreads], dim=1)


def keypoint_feature_count(module):
    """How many of a network's features, at their end, are one per keypoint (its heatmaps' spreads): 0 for most.

    A mirrored face's per-keypoint features are those of the mirrored keypoints, so flip averaging swaps them.
    """
    if hasattr(module, "keypoint_features"):
        return module.keypoint_features
    from keypoints.networks.heatmaps import SoftArgmax2d

    last = next(reversed(list(module.children())), None) if hasattr(module, "children") else None
    return last.depth if isinstance(last, SoftArgmax2d) else 0


def position_means(maps):
    """(B, C, H, W) maps (a tensor) to their means over the positions, (B, C); flat maps (B, C) as they are."""
    return maps.mean(dim=(2, 3)) if maps.dim() == 4 else maps


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


_THREADS_LOCK = threading.Lock()
_INSIDE = [0, None]  # blocks of one_thread() running now (in any thread), and the counts to put back after the last


@contextmanager
def one_thread():
    """Run the network (OpenCV's DNN module, and PyTorch where it is loaded) on one thread inside the block.

    A photo's few faces are too little work to share out, and on a busy machine waiting threads
    cost far more than they bring (see docs/decisions/0021-one-thread-for-a-photos-faces.md).
    The thread counts are the process's: while blocks run in several threads at once (``--workers``),
    the first to enter sets them and the last to leave puts them back.
    """
    import cv2

    torch = sys.modules.get("torch")  # only a torch model loads it; the ONNX path never imports it
    with _THREADS_LOCK:
        if _INSIDE[0] == 0:
            _INSIDE[1] = ((torch.get_num_threads() if torch else None), cv2.getNumThreads())
            cv2.setNumThreads(1)
            if torch:
                torch.set_num_threads(1)
        _INSIDE[0] += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _INSIDE[0] -= 1
            if _INSIDE[0] == 0:
                threads, cv_threads = _INSIDE[1]
                cv2.setNumThreads(cv_threads)
                if torch and threads is not None:
                    torch.set_num_threads(threads)
