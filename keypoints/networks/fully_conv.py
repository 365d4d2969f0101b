"""The fully-convolutional form of a trained convnet: every 96x96 window of a larger image in one pass.

A dense layer that reads a ``(D, H, W)`` volume is a convolution with ``N``
filters of size ``D x H x W`` applied at one position; the dense layers after
it are 1x1 convolutions. Written that way, the same weights slide over a
larger input, and one forward pass over a gray image of ``(H', W')`` gives, at
output position ``(i, j)``, exactly what the original network gives for the
96x96 crop at ``(S*i, S*j)``, where ``S`` is the product of the strides of
all layers (8 for ``conv``: three 2x2 poolings). The convolutions shared
between neighbouring windows are computed once, which is what makes it fast.

Why only networks with shared weights
-------------------------------------
It rests on one property: a convolution applies the same filters at every
position, so the filters that a crop's pixel meets do not depend on where
the crop sits. A locally-connected layer (``local``, ``hybrid``) has its own
filters at each of its positions: its weights are tied to positions of the
96x96 frame, there are none for positions beyond it, and shifting the window
would feed the eye pixels to the filters learned for the cheek. Such a
network has no fully-convolutional form, and is refused.

Padding and batch norm
----------------------
Zero padding (``bnconv``'s convolutions have ``padding=1``) pads the border
of the 96x96 crop with zeros; in the larger image that border sees the real
neighbouring pixels instead, so the windows' features near their edges, and
hence their outputs, differ from the crop's. The conversion refuses padded
layers unless ``allow_padding=True``, which gives that approximation.
Batch norm in eval mode is a fixed per-channel affine map, which is the same
at every position, so it converts exactly (``BatchNorm1d`` after a dense
layer becomes a ``BatchNorm2d`` with the same statistics); in training mode
its statistics would mix the windows, so the converted network is always
in eval mode. Dropout is the identity in eval and is dropped.
"""

import copy
import dataclasses
from collections import OrderedDict

import torch
from torch import nn

from keypoints.errors import ConversionError, KeypointsError
from keypoints.networks.build import Network, walk
from keypoints.networks.layers import BatchNorm, Conv, Dense, Dropout, Flatten, GlobalPool, Local, Pool, ReLU


class FullyConvolutional(nn.Module):
    """A convnet rewritten so that every dense layer is a convolution.

    Attributes
    ----------
    body : nn.Sequential
        (B, D, H', W') -> (B, K, Hn, Wn), where ``Hn = (H' - window) // stride + 1``
        when the sizes line up (see :meth:`windows`).
    stride : int
        Pixels between neighbouring windows: the product of all layer strides.
    window : int
        Side of the input the original network takes (96).
    exact : bool
        False when padded layers were converted (``allow_padding=True``):
        then windows match the original network only approximately.
    """

    def __init__(self, body, stride, window, exact):
        super().__init__()
        self.body = body
        self.stride = stride
        self.window = window
        self.exact = exact

    def forward(self, x):
        """Outputs of every window.

        Parameters
        ----------
        x : Tensor, shape (B, D, H', W')
            Pixels scaled as for the original network; ``H', W' >= window``.

        Returns
        -------
        Tensor, shape (B, K, Hn, Wn)
            ``[:, :, i, j]`` is the original network's output for the crop
            ``x[:, :, S*i:S*i+window, S*j:S*j+window]``.
        """
        if x.shape[-2] < self.window or x.shape[-1] < self.window:
            raise KeypointsError(
                f"the fully-convolutional network needs an input of at least "
                f"{self.window}x{self.window} pixels, got {tuple(x.shape[-2:])}"
            )
        return self.body(x)

    def windows(self, height, width):
        """Number of whole windows ``(Hn, Wn)`` in an input of ``(height, width)``."""
        return ((height - self.window) // self.stride + 1, (width - self.window) // self.stride + 1)

    def train(self, mode=True):
        # batch statistics would mix the windows: always in eval mode
        return super().train(False)


def to_fully_convolutional(module, input_volume=None, allow_padding=False):
    """Turn a trained convnet into a :class:`FullyConvolutional` one with the same weights.

    The conversion walks the network's spec (:func:`keypoints.networks.build.walk`),
    which knows every layer's kind and input volume: a convolution or pooling is
    kept as it is, and a dense layer becomes a convolution whose kernel covers
    the volume it reads.

    Parameters
    ----------
    module : nn.Sequential or LoadedModel
        A network built from a spec (``build_network("conv")``, ``build_module``,
        which keep the spec as ``module.network``, or :func:`keypoints.model.checkpoint.load_model`):
        convolutions, poolings, ReLU, batch norm and dropout, then a flatten and dense layers.
    input_volume : tuple of int, optional
        ``(D, H, W)`` the network takes; by default its spec's.
    allow_padding : bool
        Convert padded layers too (approximate near window edges; see the module docstring).

    Returns
    -------
    FullyConvolutional
        In eval mode, on the module's device; the original is not changed.

    Raises
    ------
    ConversionError
        For a module without its spec, a layer with no fully-convolutional
        form (locally-connected, global pooling, any other kind), a padded
        layer unless ``allow_padding``, or no dense layer after a flatten.
    """
    network = getattr(module, "network", None)
    module = getattr(module, "module", module)
    if not isinstance(module, nn.Sequential) or not isinstance(network, Network):
        raise ConversionError(
            f"expected a network built from a spec (build_network, build_module or load_model), "
            f"got {type(module).__name__} without one"
        )
    if input_volume is not None:
        network = dataclasses.replace(network, input_volume=tuple(input_volume))
    steps = walk(network)
    layers = OrderedDict(module.named_children())
    if list(layers) != [step.name for step in steps]:
        raise ConversionError(
            f"the module's layers ({', '.join(layers)}) are not those of its spec {network.name!r} "
            f"({', '.join(step.name for step in steps)})"
        )
    conversion = _Conversion(network.input_volume, allow_padding)
    converted = OrderedDict()
    for step in steps:
        convert = _CONVERTERS.get(step.spec.kind)
        if convert is None:
            raise ConversionError(f"layer {step.name!r} ({step.spec.kind}) has no fully-convolutional form here")
        layer = convert(conversion, step, layers[step.name])
        if layer is not None:
            converted[step.name] = layer
    if not conversion.dense:
        raise ConversionError("the network has no dense layer after a flatten, so nothing to convert")
    body = nn.Sequential(converted).to(next(module.parameters()).device)  # it has a dense layer, so parameters
    return FullyConvolutional(body, conversion.stride, network.input_volume[1], conversion.exact).eval()


class _Conversion:
    """What the walk carries from layer to layer, and one method per kind of layer.

    Each method takes the :class:`~keypoints.networks.build.Step` and the
    trained layer, and returns the layer of the fully-convolutional body
    (None to leave it out).
    """

    def __init__(self, frame, allow_padding):
        self.frame = frame  # (D, H, W) of the network's input
        self.allow_padding = allow_padding
        self.stride, self.exact = 1, True
        self.flattened = None  # (D, H, W) a flatten read, until the dense layer that reads it
        self.dense = False  # whether a dense layer was converted

    def sliding(self, step, layer):
        """Convolution or pooling: the same at every position, kept as it is."""
        padding = getattr(step.spec, "padding", 0)
        if padding:
            if not self.allow_padding:
                raise ConversionError(
                    f"layer {step.name!r} pads its input by {(padding, padding)}: inside a larger image the "
                    "window edges see real pixels instead of the zeros the network was trained with, so the "
                    "outputs would only approximate the network's; pass allow_padding=True to accept that"
                )
            self.exact = False
        stride = getattr(step.spec, "stride", None)
        self.stride *= stride if stride is not None else step.spec.size  # a pool's stride defaults to its size
        return copy.deepcopy(layer)

    def same(self, step, layer):
        """An element-wise layer: the same at every position."""
        return copy.deepcopy(layer)

    def dropped(self, step, layer):
        """Dropout: the identity in eval."""
        return None

    def flatten(self, step, layer):
        """Left out: the next dense layer reads the whole volume as one convolution."""
        self.flattened = step.input_volume
        return None

    def dense(self, step, layer):
        """A dense layer as a convolution over the volume it reads (1x1 after another dense layer)."""
        if self.flattened is not None:
            in_channels, *kernel = self.flattened
        else:
            in_channels, kernel = step.input_volume[0], (1, 1)
        if layer.in_features != in_channels * kernel[0] * kernel[1]:
            raise ConversionError(
                f"layer {step.name!r} takes {layer.in_features} inputs, but the volume "
                f"before it has {in_channels * kernel[0] * kernel[1]}"
            )
        conv = nn.Conv2d(in_channels, layer.out_features, tuple(kernel), bias=layer.bias is not None)
        with torch.no_grad():
            # nn.Flatten orders a (D, H, W) volume channel first, as Conv2d's weight is
            conv.weight.copy_(layer.weight.reshape(layer.out_features, in_channels, *kernel))
            if layer.bias is not None:
                conv.bias.copy_(layer.bias)
        self.flattened, self.dense = None, True
        return conv

    def batch_norm(self, step, layer):
        """A fixed per-channel affine map in eval; per feature after a dense layer, as BatchNorm2d."""
        if len(step.input_volume) == 3:
            return copy.deepcopy(layer)
        if self.flattened is not None:
            raise ConversionError(f"layer {step.name!r}: batch norm right after a flatten is not supported")
        norm = nn.BatchNorm2d(layer.num_features, layer.eps, layer.momentum, layer.affine, layer.track_running_stats)
        norm.load_state_dict(layer.state_dict())
        return norm

    def local(self, step, layer):
        """Refused: a locally-connected layer's filters are tied to positions of the frame."""
        raise ConversionError(
            f"layer {step.name!r} is locally-connected: its filters are tied to positions of the "
            f"{self.frame[1]}x{self.frame[2]} frame, so it cannot slide over a larger image. "
            "Only networks whose layers share their weights (conv, bnconv) have a fully-convolutional form."
        )

    def global_pool(self, step, layer):
        """Refused: a global pooling averages over the whole input, not over one window."""
        raise ConversionError(f"layer {step.name!r} is a global pooling; it has no fully-convolutional form here")


_CONVERTERS = {
    Conv.kind: _Conversion.sliding,
    Pool.kind: _Conversion.sliding,
    ReLU.kind: _Conversion.same,
    BatchNorm.kind: _Conversion.batch_norm,
    Dropout.kind: _Conversion.dropped,
    Flatten.kind: _Conversion.flatten,
    Dense.kind: _Conversion.dense,
    Local.kind: _Conversion.local,
    GlobalPool.kind: _Conversion.global_pool,
}
"""How each kind of layer spec converts; a kind not here has no fully-convolutional form."""
