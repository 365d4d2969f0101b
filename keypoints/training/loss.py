"""The masked mean-squared error: learn from every present keypoint, ignore missing ones."""

import torch
from torch import nn


class MaskedMSELoss(nn.Module):
    """Mean squared error over the present keypoints only.

    Most rows of the real Kaggle training file have 4 of the 15 keypoints. A
    NaN target marks a missing keypoint: it adds nothing to the loss, and the
    gradient it sends to that output is exactly zero (``torch.where`` picks a
    constant there, so nothing flows back).

    Shapes: ``y_pred`` (B, K) and ``y_true`` (B, K) -> scalar, averaged over
    the present entries (0 when there are none).
    """

    def forward(self, y_pred, y_true):
        present = ~torch.isnan(y_true)  # (B, K)
        error = torch.where(present, y_pred.float() - torch.nan_to_num(y_true), 0.0)
        return error.square().sum() / present.sum().clamp(min=1)
