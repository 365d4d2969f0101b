"""Random rotation, scale and shift of training faces, applied to the pixels and the keypoints together.

The real-face data was framed without rotation and with little scale
jitter, but faces cut from photos by a detector are tilted and framed more
loosely; jittering the training faces teaches the network those faces too.

Geometry: a keypoint ``k`` (pixels, the labels' convention) sits
``(k - c) / 48`` from the frame's centre in grid units, where ``c`` is the
labels' centre, half their mirror sum (48.5 on the real-face data, whose flips map
x to ``97 - x``; 47.5 for OpenCV's pixel centres). The jitter maps it to
``s R (k - c) / 48 + d / 48``, and the image is resampled with the inverse
map (``F.affine_grid`` with ``align_corners=False``, whose grid unit is also
48 pixels about the centre), so a feature and its label move together.
"""

import math

import torch
from torch.nn import functional as F

from keypoints.data.transforms import HALF


def draw_jitter(n, generator, rotation, scale, shift):
    """Uniform random jitter for ``n`` faces.

    Parameters
    ----------
    n : int
    generator : torch.Generator
        A CPU generator, so a seed gives the same draws on any device.
    rotation : float
        Largest rotation in degrees, either way.
    scale : float
        Largest relative change of size, either way (0.08 is +-8 %).
    shift : float
        Largest shift in pixels, along x and along y.

    Returns
    -------
    angle : Tensor, shape (N,)
        Radians.
    size : Tensor, shape (N,)
        Scale factors.
    offset : Tensor, shape (N, 2)
        Pixels, (x, y).
    """

    def uniform(*shape):
        return torch.rand(*shape, generator=generator) * 2 - 1

    angle = uniform(n) * math.radians(rotation)
    size = 1 + uniform(n) * scale
    offset = uniform(n, 2) * shift
    return angle, size, offset


def jitter_faces(images, keypoints, angle, size, offset, x_index, y_index, centre):
    """Rotate, scale and shift faces and their keypoints.

    Parameters
    ----------
    images : Tensor, shape (B, 1, H, W)
        With H = W = 96.
    keypoints : Tensor, shape (B, K)
        Scaled to [-1, 1] (pixel ``(k - 48) / 48``); NaN stays NaN.
    angle, size : Tensor, shape (B,)
    offset : Tensor, shape (B, 2)
        As from :func:`draw_jitter`, on the images' device.
    x_index, y_index : Tensor of int64, shape (P,)
        Columns of each keypoint's x and y.
    centre : float
        The labels' centre in pixels (half their mirror sum).

    Returns
    -------
    tuple of Tensor
        Images (B, 1, H, W), resampled bilinearly with the border repeated,
        and keypoints (B, K).
    """
    cos, sin = angle.cos(), angle.sin()
    rotation = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # (B, 2, 2)
    forward = size[:, None, None] * rotation  # (B, 2, 2)
    step = offset / HALF  # (B, 2) grid units
    inverse = rotation.transpose(1, 2) / size[:, None, None]  # (B, 2, 2)
    theta = torch.cat([inverse, -(inverse @ step[:, :, None])], dim=2)  # (B, 2, 3)
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    centre_scaled = (centre - HALF) / HALF
    points = torch.stack([keypoints[:, x_index], keypoints[:, y_index]], -1) - centre_scaled  # (B, P, 2)
    moved = (points @ forward.transpose(1, 2).to(points.dtype)) + step[:, None, :] + centre_scaled
    keypoints = keypoints.clone()
    keypoints[:, x_index] = moved[..., 0]
    keypoints[:, y_index] = moved[..., 1]
    return images, keypoints
