"""Masked losses (squared and absolute error): learn from every present keypoint, ignore missing ones."""

import torch
from torch import nn


def masked_error(y_pred, y_true):
    """Prediction minus target where the target is present, 0 where it is NaN (no gradient flows there).

    Returns
    -------
    error : Tensor of float32, shape (B, K)
    count : Tensor, shape ()
        Present entries, at least 1.
    """
    present = ~torch.isnan(y_true)  # (B, K)
    error = torch.where(present, y_pred.float() - torch.nan_to_num(y_true), 0.0)
    return error, present.sum().clamp(min=1)


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
        error, count = masked_error(y_pred, y_true)
        return error.square().sum() / count


class MaskedL1Loss(nn.Module):
    """Mean absolute error over the present keypoints only, masked as :class:`MaskedMSELoss` is.

    A keypoint's error counts in proportion to its size rather than its square, so a few faces with wrong or
    odd labels pull the network less than under the squared error, and the loss follows the mean distance
    that NME measures. Shapes: ``y_pred`` (B, K) and ``y_true`` (B, K) -> scalar.

    In evaluation mode (skorch's validation step) it gives the squared error, and in training mode it keeps
    the batch's squared error, detached, as ``squared`` (the estimator records that one), so the epoch table's
    RMSEs and early stopping mean the same whichever loss trains.
    """

    squared = None

    def forward(self, y_pred, y_true):
        error, count = masked_error(y_pred, y_true)
        squared = error.square().sum() / count
        if not self.training:
            return squared
        self.squared = squared.detach()
        return error.abs().sum() / count


LOSSES = {"mse": MaskedMSELoss, "l1": MaskedL1Loss}
"""The training losses a :class:`keypoints.training.estimator.Recipe` can name."""
