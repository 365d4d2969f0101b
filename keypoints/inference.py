"""Inference: a network's keypoints in pixels for 96x96 faces, in batches, optionally flip-averaged.

The one place that scales faces in, runs the module and scales keypoints out;
prediction, explanation, submission, evaluation and the benchmarks call it.
"""

import numpy as np
import torch

from keypoints.data.transforms import flip_horizontal, scale_images, unscale_keypoints


def module_device(module):
    """The device of a module's first parameter (CPU for a module without any)."""
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


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
