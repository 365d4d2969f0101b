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
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from keypoints.data.schema import IMAGE_SIZE
from keypoints.data.transforms import unscale_keypoints
from keypoints.errors import ConversionError, KeypointsError
from keypoints.networks.layers import GlobalAvgPool2d
from keypoints.networks.local import LocallyConnected2d


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


def to_fully_convolutional(module, input_volume=(1, IMAGE_SIZE, IMAGE_SIZE), allow_padding=False):
    """Turn a trained convnet into a :class:`FullyConvolutional` one with the same weights.

    Parameters
    ----------
    module : nn.Sequential or LoadedModel
        A network built from a spec (``build_network("conv")``, or the
        ``module`` of :func:`keypoints.checkpoint.load_model`): convolutions,
        poolings, ReLU, batch norm and dropout, then a flatten and dense layers.
    input_volume : tuple of int
        ``(D, H, W)`` the network takes.
    allow_padding : bool
        Convert padded layers too (approximate near window edges; see the module docstring).

    Returns
    -------
    FullyConvolutional
        In eval mode, on the module's device; the original is not changed.

    Raises
    ------
    ConversionError
        For a layer with no fully-convolutional form (locally-connected,
        global pooling, anything unknown), a padded layer unless
        ``allow_padding``, or a dense layer that does not follow a flatten.
    """
    module = getattr(module, "module", module)
    if not isinstance(module, nn.Sequential):
        raise ConversionError(f"expected an nn.Sequential network built from a spec, got {type(module).__name__}")
    parameter = next(module.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    layers = OrderedDict()
    volume = tuple(input_volume)  # (D, H, W) of one window at the current layer
    flat = None  # (D, H, W) that the flatten saw, then the number of channels once flat
    stride, exact = 1, True
    for name, layer in module.named_children():
        if isinstance(layer, LocallyConnected2d):
            raise ConversionError(
                f"layer {name!r} is locally-connected: its filters are tied to positions of the "
                f"{input_volume[1]}x{input_volume[2]} frame, so it cannot slide over a larger image. "
                "Only networks whose layers share their weights (conv, bnconv) have a fully-convolutional form."
            )
        if isinstance(layer, GlobalAvgPool2d):
            raise ConversionError(f"layer {name!r} is a global pooling; it has no fully-convolutional form here")
        if flat is None and isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
            padding = _pair(layer.padding)
            if any(padding):
                if not allow_padding:
                    raise ConversionError(
                        f"layer {name!r} pads its input by {padding}: inside a larger image the window "
                        "edges see real pixels instead of the zeros the network was trained with, so the "
                        "outputs would only approximate the network's; pass allow_padding=True to accept that"
                    )
                exact = False
            stride *= _pair(layer.stride)[0]
            if _pair(layer.stride)[0] != _pair(layer.stride)[1]:
                raise ConversionError(f"layer {name!r} has different strides along x and y")
            layers[name] = copy.deepcopy(layer)
            volume = tuple(_shape_after(layer, volume))
        elif isinstance(layer, nn.Flatten):
            if flat is not None:
                raise ConversionError(f"layer {name!r}: a second flatten")
            flat = volume
        elif isinstance(layer, nn.Linear):
            if flat is None:
                raise ConversionError(f"layer {name!r} is a dense layer before any flatten")
            if isinstance(flat, tuple):
                depth, height, width = flat
                kernel = (height, width)
                in_channels = depth
            else:
                kernel, in_channels = (1, 1), flat
            if layer.in_features != in_channels * kernel[0] * kernel[1]:
                raise ConversionError(
                    f"layer {name!r} takes {layer.in_features} inputs, but the volume "
                    f"before it has {in_channels * kernel[0] * kernel[1]}"
                )
            conv = nn.Conv2d(in_channels, layer.out_features, kernel, bias=layer.bias is not None)
            with torch.no_grad():
                # nn.Flatten orders a (D, H, W) volume channel first, as Conv2d's weight is
                conv.weight.copy_(layer.weight.reshape(layer.out_features, in_channels, *kernel))
                if layer.bias is not None:
                    conv.bias.copy_(layer.bias)
            layers[name] = conv
            flat = layer.out_features
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if isinstance(layer, nn.BatchNorm1d):
                if isinstance(flat, tuple):
                    raise ConversionError(f"layer {name!r}: batch norm right after a flatten is not supported")
                norm = nn.BatchNorm2d(
                    layer.num_features, layer.eps, layer.momentum, layer.affine, layer.track_running_stats
                )
                norm.load_state_dict(layer.state_dict())
                layers[name] = norm
            else:
                layers[name] = copy.deepcopy(layer)
            if not layer.track_running_stats:
                raise ConversionError(
                    f"layer {name!r}: batch norm without running statistics depends on "
                    "the batch, so it has no fixed per-position form"
                )
        elif isinstance(layer, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Identity)):
            layers[name] = copy.deepcopy(layer)
        elif isinstance(layer, nn.Dropout):
            continue  # the identity in eval
        else:
            raise ConversionError(f"layer {name!r} ({type(layer).__name__}) has no fully-convolutional form here")
    if not isinstance(flat, int):
        raise ConversionError("the network has no dense layer after a flatten, so nothing to convert")
    body = nn.Sequential(layers).to(device)
    return FullyConvolutional(body, stride, input_volume[1], exact).eval()


@torch.no_grad()
def predict_windows(fully_conv, image):
    """Keypoints of every window of a gray image, in the image's pixels.

    Parameters
    ----------
    fully_conv : FullyConvolutional
    image : ndarray of uint8, shape (H', W')
        Gray pixels 0-255, at least the window's size.

    Returns
    -------
    ndarray of float32, shape (Hn, Wn, K)
        Keypoints ``(x, y, x, y, ...)`` of window ``(i, j)``, shifted by its
        origin ``(S*j, S*i)``, so in the coordinates of ``image``.
    """
    device = next(fully_conv.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32) / 255).to(device)[None, None]
    out = fully_conv(x)[0].permute(1, 2, 0).float().cpu().numpy()  # (Hn, Wn, K)
    pixels = unscale_keypoints(out)  # in each window's own frame
    rows, cols = np.mgrid[0 : out.shape[0], 0 : out.shape[1]] * fully_conv.stride
    pixels[..., 0::2] += cols[..., None]
    pixels[..., 1::2] += rows[..., None]
    return pixels


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _shape_after(layer, volume):
    with torch.no_grad():
        probe = torch.zeros(1, *volume, device=next(iter(layer.parameters()), torch.zeros(0)).device)
        return layer(probe).shape[1:]
