"""The networks, each described once as a list of layer specs, and their registry.

Every network takes (B, 1, 96, 96) gray faces in [0, 1] and returns (B, 30):
the 15 keypoints' x and y scaled to [-1, 1]. Both the ``nn.Module``
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
==========  ===========  =====================================================

Why ``local`` makes block 1 locally-connected too
-------------------------------------------------
Block 1 sees a single input channel, so giving each of its 94*94 positions
its own 32 filters costs only 2.8 M parameters (10.8 MiB in float32), fewer
than either later local layer (17.5 M and 15.9 M). Training at batch 128
with AdamW, block 1 adds 43 MiB of parameters, gradients and moments, and
34 MiB of saved activations (a local layer keeps its unfolded input,
(B, D1*F*F, L), 39 MiB here, where a convolution keeps its 4.5 MiB input).
Measured peak memory of two AdamW steps at batch 128 on CPU: conv 0.84 GiB,
hybrid 1.09 GiB, local 1.44 GiB -- and 1.47 GiB with a convolution in block 1,
the same within noise, since the peak is set by block 2. With no memory to
save, block 1 is local too, and ``local`` is a clean "same topology, no
weight sharing" comparison with ``conv``.

Where the dropout goes
----------------------
Nouri's net dropped 0.1, 0.2 and 0.3 after the three pooling layers and 0.5
after the first dense layer. Trained for a few epochs, that net is worse in
eval mode than predicting the mean: with 0.5 before a ReLU layer the eval
activations are far from the average of the training ones (on a 12-epoch
``conv``, eval mode gave 6.19 px where averaging over dropout masks gave
3.46 px). Measured on the stand-in (split by person, seed 0, float32 on a
GPU, AdamW one-cycle at 1e-3, batch 32, validation RMSE after 5 epochs):

===============================  =========  ===========================
dropout                          ``local``  ``local`` with conv block 1
===============================  =========  ===========================
Nouri's (0.1, 0.2, 0.3; 0.5)     7.07 px    4.76 px
0.5 between the dense layers     4.69 px    3.71 px
0.2 between the dense layers     2.74 px    2.58 px
none                             2.37 px    2.26 px
===============================  =========  ===========================

With the classic Nesterov recipe (rate 0.03 to 0.0001 over the run, batch
64), ``local`` reached 4.63 px with Nouri's dropout and 3.94-4.14 px with the
other three, and ``conv`` 5.40 px in 6 epochs with Nouri's: that schedule
barely leaves the mean (3.77 px) in a few epochs. So the classic networks
keep one dropout of 0.2 between the dense layers: nearly the accuracy of
none in short runs, and some regularisation for the 8 M (``conv``) to 44 M
(``local``) parameters in long ones. Block 1 stays locally-connected (above);
a convolution there would gain 0.1-0.2 px in these short runs.
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
)

N_OUTPUTS = 30
"""15 keypoints x (x, y)."""


def _classic(filters):
    """Daniel Nouri's topology with the given kind of layer (Conv or Local) per block."""
    # named by block (hybrid: conv1, conv2, local3) so the networks line up
    first, second, third = (partial(kind, name=f"{kind.kind}{block}") for block, kind in enumerate(filters, start=1))
    # Dropout only between the dense layers, at 0.2: see "Where the dropout
    # goes" in the module docstring for the figures against Nouri's rates.
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
# layer and, without normalisation, needs many epochs of SGD with momentum;
# on 2 CPU cores a forward+backward of 64 faces takes it about half a second.
# BatchNorm lets this network train in a few epochs with AdamW, pooling down
# to 3x3 keeps its dense head small (0.67 M parameters in all), and a
# forward+backward of 64 faces takes 0.11-0.15 s on 2 cores (0.07-0.10 s
# with channels_last tensors). Of three variants trained for 8 epochs on 800
# synthetic faces (0.67-0.99 M parameters, 3 seeds), this one reached the
# lowest validation RMSE (2.9-3.5 px, against 3.1-3.9 px), although narrower
# ones ran up to 30 % faster. On the real-face stand-in (split by person, 50
# epochs, AdamW one-cycle at 4e-3) dropout of 0.1 before both dense layers
# reached 1.904 px against 2.021 px with 0.2 and 0.3: with flips as
# augmentation it needs little more regularising.
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

NETWORKS = {network.name: network for network in (CONV, LOCAL, HYBRID, BNCONV)}
"""The registered networks by name, in the order conv, local, hybrid, bnconv."""


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
