"""The networks, each described once as a list of layer specs, and their registry.

Every network takes (B, 1, 96, 96) gray faces in [0, 1] and returns (B, 30):
the 15 keypoints' x and y scaled to [-1, 1]; ``bnheat`` reads them out of a heatmap per keypoint
(:mod:`keypoints.networks.heatmaps`), the others from a dense layer. Both the ``nn.Module``
(:func:`build_network`) and the printed summary (:func:`format_summary`) are
walked from the same spec, so they cannot disagree.

Parameter counts (weights + biases; BatchNorm's running statistics are buffers):

==========  ===========  =====================================================
network     parameters   where they are
==========  ===========  =====================================================
conv          8,051,502  99.5 % in the dense head (128*11*11 = 15,488 -> 500)
local        44,228,910  local1 2.8 M, local2 17.5 M, local3 15.9 M, head 8.0 M
hybrid       23,940,270  local3 15.9 M, head 8.0 M
bnconv          672,526  convolutions 0.22 M, dense head 0.45 M
bnlocal       6,478,606  local5 5.97 M (bnconv's conv5: 0.17 M), dense head 0.45 M
bnheat          153,983  convolutions only: 0.15 M, no dense head
==========  ===========  =====================================================

``local`` keeps block 1 locally-connected, and the classic networks keep one dropout of 0.2 between their dense layers
only: see docs/decisions/0005-block-1-of-local.md and docs/decisions/0006-where-the-dropout-goes.md.
"""

from functools import partial

from keypoints.errors import KeypointsError
from keypoints.networks.build import Network, build_module, summarise, summary_text
from keypoints.networks.layers import (
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    Local,
    Pool,
    ReLU,
    SoftArgmax,
)

N_OUTPUTS = 30
"""15 keypoints x (x, y)."""


def _classic(filters):
    """Daniel Nouri's topology with the given kind of layer (Conv or Local) per block."""
    # named by block (hybrid: conv1, conv2, local3) so the networks line up
    first, second, third = (partial(kind, name=f"{kind.kind}{block}") for block, kind in enumerate(filters, start=1))
    # Dropout only between the dense layers, at 0.2: see docs/decisions/0006-where-the-dropout-goes.md.
    return (
        first(32, 3), ReLU(), Pool(2),  # (32, 94, 94) -> (32, 47, 47)
        second(64, 2), ReLU(), Pool(2),  # (64, 46, 46) -> (64, 23, 23)
        third(128, 2), ReLU(), Pool(2),  # (128, 22, 22) -> (128, 11, 11)
        Flatten(),  # (15488,)
        Dense(500), ReLU(), Dropout(0.2),
        Dense(500), ReLU(),
        Dense(N_OUTPUTS),
    )  # fmt: skip


def _conv_pool_bn(channels):
    # Max pooling commutes with ReLU, and with BatchNorm's per-channel affine
    # map when its scale is positive, so pooling first computes nearly the
    # same block with BatchNorm and ReLU on a quarter of the values.
    return (Conv(channels, 3, padding=1, bias=False), Pool(2), BatchNorm(), ReLU())


CONV = Network(
    "conv",
    "the classic facial-keypoint convnet (Nouri, 2014): three conv-pool blocks, two dense layers of 500",
    _classic((Conv, Conv, Conv)),
)

LOCAL = Network(
    "local",
    "the conv network with every convolution made locally-connected (no weight sharing)",
    _classic((Local, Local, Local)),
)

HYBRID = Network(
    "hybrid",
    "convolutions in blocks 1-2, a locally-connected block 3, as DeepFace did on aligned faces",
    _classic((Conv, Conv, Local)),
)

# Why bnconv exists: conv spends 99.5 % of its 8 M parameters on one dense
# layer and needs many epochs; BatchNorm and a small head let this one train
# in minutes on a CPU (see docs/decisions/0007-why-bnconv.md).
BNCONV = Network(
    "bnconv",
    "a small BatchNorm convnet that trains fast on a CPU with AdamW, with 12x fewer parameters than conv",
    (
        # a strided first convolution: 96x96 maps are the costliest on a CPU
        Conv(16, 4, stride=2, padding=1, bias=False), BatchNorm(), ReLU(),  # (16, 48, 48)
        *_conv_pool_bn(24),  # (24, 24, 24)
        *_conv_pool_bn(48),  # (48, 12, 12)
        *_conv_pool_bn(96),  # (96, 6, 6)
        *_conv_pool_bn(192),  # (192, 3, 3)
        # flatten, not global pooling: where a feature is matters for keypoints
        Flatten(), Dropout(0.1),  # (1728,)
        Dense(256), ReLU(), Dropout(0.1),
        Dense(N_OUTPUTS),
    ),
)  # fmt: skip


def _local_pool_bn(channels, block):
    # bnconv's block with the convolution made locally-connected: same volumes, own filters at each position
    return (Local(channels, 3, padding=1, bias=False, name=f"local{block}"), Pool(2), BatchNorm(), ReLU())


# The twin of bnconv for the weight-sharing comparison: identical but for
# block 5, whose 6x6 maps are where a unit sees a face part, and where a
# locally-connected layer costs the least time (see docs/decisions/0001-the-twins-bnconv-and-bnlocal.md).
BNLOCAL = Network(
    "bnlocal",
    "bnconv's twin: the same layers, with block 5 (6x6 maps) locally-connected: no weight sharing there",
    (
        Conv(16, 4, stride=2, padding=1, bias=False), BatchNorm(), ReLU(),  # (16, 48, 48)
        *_conv_pool_bn(24),  # (24, 24, 24)
        *_conv_pool_bn(48),  # (48, 12, 12)
        *_conv_pool_bn(96),  # (96, 6, 6)
        *_local_pool_bn(192, 5),  # (192, 3, 3)
        Flatten(), Dropout(0.1),  # (1728,)
        Dense(256), ReLU(), Dropout(0.1),
        Dense(N_OUTPUTS),
    ),
)  # fmt: skip

# Integral regression on bnconv's first three blocks: the positions of the features reach the output, instead of
# a dense head learning each position apart. Dilated convolutions give the 12x12 maps a view of the whole face
# without pooling away their resolution (docs/decisions/0086-a-heatmap-network.md).
BNHEAT = Network(
    "bnheat",
    "bnconv's first blocks, dilated convolutions at 12x12, and a heatmap per keypoint read out by soft-argmax",
    (
        Conv(16, 4, stride=2, padding=1, bias=False), BatchNorm(), ReLU(),  # (16, 48, 48)
        *_conv_pool_bn(24),  # (24, 24, 24)
        *_conv_pool_bn(48),  # (48, 12, 12)
        Conv(64, 3, padding=1, bias=False), BatchNorm(), ReLU(),  # (64, 12, 12)
        # taps 2 and 4 cells apart: each cell sees the whole 96-pixel face
        Conv(64, 3, padding=2, dilation=2, bias=False), BatchNorm(), ReLU(),  # (64, 12, 12)
        Conv(64, 3, padding=4, dilation=4, bias=False), BatchNorm(), ReLU(),  # (64, 12, 12)
        Conv(64, 3, padding=2, dilation=2, bias=False), BatchNorm(), ReLU(),  # (64, 12, 12)
        Conv(N_OUTPUTS // 2, 1, name="heatmaps"),  # (15, 12, 12)
        SoftArgmax(),  # (30,)
    ),
)  # fmt: skip

TWINS = ("bnconv", "bnlocal")
"""The pair that differs only in weight sharing: the shared-weights network first."""

NETWORKS = {network.name: network for network in (CONV, LOCAL, HYBRID, BNCONV, BNLOCAL, BNHEAT)}
"""The registered networks by name, in the order conv, local, hybrid, bnconv, bnlocal, bnheat."""


def get_network(network):
    """The :class:`Network` spec of a registered name (a spec is returned as it is).

    Raises
    ------
    KeypointsError
        If the name is not registered; the message lists the known names.
    """
    if isinstance(network, Network):
        return network
    try:
        return NETWORKS[network]
    except (KeyError, TypeError):
        raise KeypointsError(f"unknown network {network!r}; known networks: {', '.join(NETWORKS)}") from None


def build_network(network):
    """Build a network.

    Parameters
    ----------
    network : str or Network
        A name from :data:`NETWORKS`, or a custom spec.

    Returns
    -------
    nn.Sequential
        Children named as in the summary (``net.conv1``, ``net.dense3``...).
        For the registered networks: input (B, 1, 96, 96), output (B, 30).

    Raises
    ------
    GeometryError
        If a layer's geometry is impossible, naming it; raised before any
        module or weight is made.
    KeypointsError
        If the name is unknown (listing the known names), or two layers share a name.
    """
    return build_module(get_network(network))


def network_summary(network):
    """Layers, output volumes and parameter counts of a network, without building it.

    Parameters
    ----------
    network : str or Network

    Returns
    -------
    Summary
        A named tuple ``(network, rows, total)``: the spec, one
        ``SummaryRow(name, kind, volume, params)`` per layer, with ``volume``
        ``(D, H, W)`` or ``(N,)`` (no batch axis), and the total parameter count.

    Raises
    ------
    GeometryError, KeypointsError
        As :func:`build_network`.
    """
    return summarise(get_network(network))


def format_summary(network):
    """The summary as ``keypoints summary NET`` prints it.

    A title line ``name: description``, the input volume, one line per layer
    (name, kind, output volume ``D x H x W``, parameter count) and the total.

    Parameters
    ----------
    network : str or Network

    Returns
    -------
    str
    """
    return summary_text(network_summary(network))
