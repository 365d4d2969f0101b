"""The vocabulary of network specs: one small frozen dataclass per kind of layer.

A spec says what a layer is, not how big its input is; given the input
volume (``(D, H, W)`` for images, ``(N,)`` once flattened) each spec can say
its output volume, count its parameters and build its ``nn.Module``, all
three from :mod:`keypoints.networks.geometry`. Walking a list of specs from
the input volume therefore gives both the network and its summary, and
nothing hard-codes a flattened size.

Every spec takes an optional ``name``; :mod:`keypoints.networks.build` names
the others ``conv1``, ``relu1``, ``pool1``, ``conv2``...
"""

from dataclasses import dataclass, field
from typing import ClassVar

from torch import nn

from keypoints.errors import GeometryError
from keypoints.networks import geometry
from keypoints.networks.heatmaps import SoftArgmax2d
from keypoints.networks.local import LocallyConnected2d


@dataclass(frozen=True)
class LayerSpec:
    """Base of the layer specs. Subclasses set ``kind`` and override the three methods."""

    kind: ClassVar[str] = "layer"
    name: str | None = field(default=None, kw_only=True)

    def output(self, volume, name):
        """Output volume for an input of ``volume``; raises GeometryError if there is none."""
        return volume

    def params(self, volume, name):
        """Number of parameters for an input of ``volume``."""
        return 0

    def module(self, volume, name):
        """The ``nn.Module`` for an input of ``volume``."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Filters(LayerSpec):
    """What a convolution and a locally-connected layer share: filters sliding over the input."""

    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    bias: bool = True

    def output(self, volume, name):
        _, height, width = _image(volume, name, self.kind)
        if self.out_channels < 1:
            raise GeometryError(f"layer {name!r}: out_channels must be at least 1, got {self.out_channels}")
        span = self.span(name)
        return (
            self.out_channels,
            geometry.output_size(height, span, self.stride, self.padding, layer=name),
            geometry.output_size(width, span, self.stride, self.padding, layer=name),
        )

    def span(self, name):
        """Pixels of the input one filter covers along each side."""
        return self.kernel_size


@dataclass(frozen=True)
class Conv(_Filters):
    """Convolution with ``out_channels`` square filters of side ``kernel_size``, taps ``dilation`` pixels apart.

    A dilated filter of side ``F`` spans ``dilation * (F - 1) + 1`` pixels: it sees further without pooling away
    the resolution a heatmap needs.
    """

    kind: ClassVar[str] = "conv"
    dilation: int = 1

    def span(self, name):
        if self.dilation < 1:
            raise GeometryError(f"layer {name!r}: dilation must be at least 1, got {self.dilation}")
        return self.dilation * (self.kernel_size - 1) + 1

    def params(self, volume, name):
        return geometry.conv_params(volume[0], self.out_channels, self.kernel_size, self.bias)

    def module(self, volume, name):
        return nn.Conv2d(
            volume[0],
            self.out_channels,
            self.kernel_size,
            self.stride,
            self.padding,
            dilation=self.dilation,
            bias=self.bias,
        )


@dataclass(frozen=True)
class Local(_Filters):
    """Locally-connected layer: a convolution with different filters at every position."""

    kind: ClassVar[str] = "local"

    def params(self, volume, name):
        _, height, width = self.output(volume, name)
        return geometry.local_params(volume[0], self.out_channels, self.kernel_size, height, width, self.bias)

    def module(self, volume, name):
        return LocallyConnected2d(
            volume[0],
            self.out_channels,
            self.kernel_size,
            input_size=volume[1:],
            stride=self.stride,
            padding=self.padding,
            bias=self.bias,
            name=name,
        )


@dataclass(frozen=True)
class Pool(LayerSpec):
    """Max pooling over ``size`` x ``size`` windows (floor mode, like ``nn.MaxPool2d``)."""

    kind: ClassVar[str] = "pool"
    size: int = 2
    stride: int | None = None

    def output(self, volume, name):
        depth, height, width = _image(volume, name, self.kind)
        return (
            depth,
            geometry.pool_output_size(height, self.size, self.stride, layer=name),
            geometry.pool_output_size(width, self.size, self.stride, layer=name),
        )

    def module(self, volume, name):
        return nn.MaxPool2d(self.size, self.stride)


@dataclass(frozen=True)
class GlobalPool(LayerSpec):
    """Global average pooling: ``(D, H, W)`` -> ``(D,)``."""

    kind: ClassVar[str] = "globalpool"

    def output(self, volume, name):
        return (_image(volume, name, self.kind)[0],)

    def module(self, volume, name):
        return GlobalAvgPool2d()


@dataclass(frozen=True)
class Flatten(LayerSpec):
    """``(D, H, W)`` -> ``(D*H*W,)``, keeping the batch axis."""

    kind: ClassVar[str] = "flatten"

    def output(self, volume, name):
        depth, height, width = _image(volume, name, self.kind)
        return (depth * height * width,)

    def module(self, volume, name):
        return nn.Flatten()


@dataclass(frozen=True)
class Dense(LayerSpec):
    """Fully-connected layer with ``n_out`` outputs; needs a flat input."""

    kind: ClassVar[str] = "dense"
    n_out: int
    bias: bool = True

    def output(self, volume, name):
        _flat(volume, name, self.kind)
        if self.n_out < 1:
            raise GeometryError(f"layer {name!r}: n_out must be at least 1, got {self.n_out}")
        return (self.n_out,)

    def params(self, volume, name):
        return geometry.dense_params(volume[0], self.n_out, self.bias)

    def module(self, volume, name):
        return nn.Linear(volume[0], self.n_out, bias=self.bias)


@dataclass(frozen=True)
class SoftArgmax(LayerSpec):
    """Integral regression: each of ``K`` maps, made a distribution by a softmax, read out as its mean position.

    ``(K, H, W)`` -> ``(2K,)``: keypoint ``k``'s x and y, scaled to [-1, 1] as the targets are, at ``2k`` and
    ``2k + 1``. No parameters; the map cells are read at their centres in the 96-pixel frame.
    """

    kind: ClassVar[str] = "softargmax"

    def output(self, volume, name):
        depth, _, _ = _image(volume, name, self.kind)
        return (2 * depth,)

    def module(self, volume, name):
        return SoftArgmax2d(*volume)


@dataclass(frozen=True)
class ReLU(LayerSpec):
    """Rectified linear unit, in place (its input is never needed again)."""

    kind: ClassVar[str] = "relu"

    def module(self, volume, name):
        return nn.ReLU(inplace=True)


@dataclass(frozen=True)
class BatchNorm(LayerSpec):
    """Batch normalisation per channel (``(D, H, W)``) or per feature (``(N,)``)."""

    kind: ClassVar[str] = "batchnorm"

    def params(self, volume, name):
        return geometry.batchnorm_params(volume[0])

    def module(self, volume, name):
        return nn.BatchNorm2d(volume[0]) if len(volume) == 3 else nn.BatchNorm1d(volume[0])


@dataclass(frozen=True)
class Dropout(LayerSpec):
    """Dropout of single units with probability ``p``."""

    kind: ClassVar[str] = "dropout"
    p: float = 0.5

    def output(self, volume, name):
        if not 0 <= self.p < 1:
            raise GeometryError(f"layer {name!r}: dropout p must be in [0, 1), got {self.p}")
        return volume

    def module(self, volume, name):
        return nn.Dropout(self.p)


SPEC_KINDS = {
    spec.kind: spec for spec in (Conv, Local, Pool, GlobalPool, Flatten, Dense, ReLU, BatchNorm, Dropout, SoftArgmax)
}
"""Every kind of layer spec by its ``kind``, the name model files store; a new kind is added here."""


class GlobalAvgPool2d(nn.Module):
    """Mean over the spatial axes: (B, D, H, W) -> (B, D)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def _image(volume, name, kind):
    if len(volume) != 3:
        raise GeometryError(
            f"layer {name!r} ({kind}) needs an image volume (D, H, W), got the flat "
            f"volume {format_volume(volume)}; it cannot come after a flatten or a dense layer"
        )
    return volume


def _flat(volume, name, kind):
    if len(volume) != 1:
        raise GeometryError(
            f"layer {name!r} ({kind}) needs a flat volume (N,), got {format_volume(volume)}; "
            "put a flatten or a globalpool before it"
        )
    return volume


def format_volume(volume):
    """``(128, 11, 11)`` -> ``'128 x 11 x 11'``."""
    return " x ".join(str(size) for size in volume)
