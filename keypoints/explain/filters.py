"""The learned filters of a network's first layer.

A convolution has one bank of filters, the same at every position. A
locally-connected layer (:class:`~keypoints.networks.local.LocallyConnected2d`)
has a bank per output position; showing the banks at the eye, the nose and
the mouth shows whether it learned different detectors for different parts
of the face.
"""

from itertools import combinations
from typing import NamedTuple

import numpy as np
from torch import nn

from keypoints.errors import KeypointsError
from keypoints.networks.local import LocallyConnected2d

DEFAULT_POSITIONS = {
    "left eye": (66.0, 38.0),
    "nose tip": (48.0, 63.0),
    "mouth": (48.0, 76.0),
}
"""Where the filters of a locally-connected layer are shown, ``(x, y)`` in the
96x96 frame: near the mean positions of the Kaggle keypoints (left eye centre,
nose tip, between the lip centres). The subject's left eye is on the image's right."""


class FirstLayerFilters(NamedTuple):
    """The filters of a first layer.

    Attributes
    ----------
    layer : str
        Name of the layer in the network (``conv1``, ``local1``).
    kind : str
        ``"conv"`` or ``"local"``.
    banks : dict of str to ndarray, shape (K, D, F, F)
        ``{"all positions": filters}`` for a convolution; one bank per named
        position for a locally-connected layer.
    positions : dict of str to (float, float, int, int)
        For each bank of a local layer: the ``(x, y)`` asked for and the output
        ``(row, col)`` whose filters these are. Empty for a convolution.
    """

    layer: str
    kind: str
    banks: dict
    positions: dict

    def relative_difference(self):
        """Mean over pairs of banks of ``||A - B|| / mean(||A||, ||B||)``; 0 for a single bank."""
        pairs = list(combinations(self.banks.values(), 2))
        if not pairs:
            return 0.0
        return float(np.mean([np.linalg.norm(a - b) / ((np.linalg.norm(a) + np.linalg.norm(b)) / 2) for a, b in pairs]))


def first_layer_filters(module, positions=None):
    """The filters of the first convolution or locally-connected layer of ``module``.

    Parameters
    ----------
    module : torch.nn.Module
    positions : dict of str to (float, float), optional
        For a locally-connected layer: named ``(x, y)`` points of the input
        frame; default :data:`DEFAULT_POSITIONS`.

    Returns
    -------
    FirstLayerFilters

    Raises
    ------
    KeypointsError
        If the network has neither layer.
    """
    for name, layer in module.named_modules():
        if isinstance(layer, nn.Conv2d):
            weight = layer.weight.detach().float().cpu().numpy()  # (K, D, F, F)
            return FirstLayerFilters(name, "conv", {"all positions": weight}, {})
        if isinstance(layer, LocallyConnected2d):
            return _local_filters(name, layer, positions or DEFAULT_POSITIONS)
    raise KeypointsError("the network has no convolution or locally-connected layer, so no filters to show")


def local_position(layer, x, y):
    """Output ``(row, col)`` of a locally-connected layer whose receptive field is centred nearest ``(x, y)``."""
    f, s, p = layer.kernel_size, layer.stride, layer.padding
    # output position i covers input pixels i*s - p ... i*s - p + f - 1, centred at i*s - p + (f - 1) / 2
    row = int(np.clip(round((y + p - (f - 1) / 2) / s), 0, layer.output_size[0] - 1))
    col = int(np.clip(round((x + p - (f - 1) / 2) / s), 0, layer.output_size[1] - 1))
    return row, col


def _local_filters(name, layer, positions):
    weight = layer.weight.detach().float().cpu().numpy()  # (H2*W2, D1*F*F, K)
    f = layer.kernel_size
    banks, where = {}, {}
    for label, (x, y) in positions.items():
        row, col = local_position(layer, x, y)
        bank = weight[row * layer.output_size[1] + col]  # (D1*F*F, K)
        # unfold's middle axis is (channel, kernel row, kernel column)
        banks[label] = bank.T.reshape(layer.out_channels, layer.in_channels, f, f)
        where[label] = (float(x), float(y), row, col)
    return FirstLayerFilters(name, "local", banks, where)
