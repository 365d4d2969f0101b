"""Integral regression: keypoints read out of heatmaps as the mean position of each map's softmax.

A network that ends in per-keypoint maps keeps the positions of its features to the end, instead of handing them to
a dense layer that must learn each position separately. The softmax of a map is a distribution over its cells; its
mean is the keypoint (Sun et al., "Integral Human Pose Regression", 2018), and it is differentiable, so the network
trains on the coordinates themselves with the losses the dense networks use. The distribution's spread says how
sure the map is of its keypoint: :meth:`SoftArgmax2d.read`.
"""

import torch
from torch import nn

from keypoints.data.schema import IMAGE_SIZE


def cell_centres(cells, frame=IMAGE_SIZE):
    """Centres of ``cells`` equal cells across a frame, in the targets' [-1, 1] scale.

    Pixel ``i``'s centre is at coordinate ``i`` and a keypoint ``k`` px from the frame's edge scales to
    ``(k - frame / 2) / (frame / 2)``, so the frame spans ``[-0.5, frame - 0.5]`` px.

    Returns
    -------
    Tensor of float32, shape (cells,)
    """
    side = frame / cells
    centres = (torch.arange(cells, dtype=torch.float32) + 0.5) * side - 0.5
    return (centres - frame / 2) / (frame / 2)


class SoftArgmax2d(nn.Module):
    """(B, K, H, W) maps -> (B, 2K) keypoints: x and y of each map's softmax mean, scaled to [-1, 1].

    Parameters
    ----------
    depth : int
        ``K``, the number of maps.
    height, width : int
        The maps' size; cell centres follow :func:`cell_centres`.
    """

    def __init__(self, depth, height, width):
        super().__init__()
        self.depth = depth
        ys, xs = torch.meshgrid(cell_centres(height), cell_centres(width), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1), persistent=False)
        self.register_buffer("pair", torch.ones(2, 1), persistent=False)

    def probabilities(self, maps):
        """Each map's softmax over its cells: (B, K, H, W) -> (B * K, H * W).

        The reshapes name every size but the batch's: OpenCV's DNN module reads a shape computed from the input
        as one of batch 1.
        """
        return torch.softmax(maps.reshape(-1, self.grid.shape[0]), dim=1)

    def forward(self, maps):
        """Keypoints of (B, K, H, W) maps: (B, 2K), keypoint ``k``'s x at ``2k`` and y at ``2k + 1``."""
        return (self.probabilities(maps) @ self.grid).reshape(-1, 2 * self.depth)

    def read(self, maps):
        """Keypoints and spreads of (B, K, H, W) maps from one softmax: (B, 2K) as :meth:`forward`, and (B, K).

        A map's spread is how far its distribution spreads about its mean, in 96-frame px: the root of the summed
        variances in x and y.
        """
        weights = self.probabilities(maps)
        mean = weights @ self.grid  # (B * K, 2)
        # matrix products only, each summing over x and y as it goes: the ops OpenCV's DNN module runs as torch does
        variance = weights @ self.grid.square().sum(1, keepdim=True) - mean.square() @ self.pair
        spread = torch.relu(variance).sqrt().reshape(-1, self.depth) * (IMAGE_SIZE / 2)
        return mean.reshape(-1, 2 * self.depth), spread

    def spread(self, maps):
        """The spreads of :meth:`read`: (B, K, H, W) -> (B, K), in 96-frame px."""
        return self.read(maps)[1]
