"""A locally-connected 2-D layer: a convolution whose filters are not shared.

A convolution slides one bank of ``K`` filters over the whole image. Here
every one of the ``L = H2*W2`` output positions has its own bank, which suits
aligned faces, where an eye is always near the same place (DeepFace, 2014).

The computation is ``L`` independent small matrix products, done as one
batched product::

    x (B, D1, H, W) --unfold--> (B, D1*F*F, L) --permute--> (L, B, D1*F*F)
    bmm with weight (L, D1*F*F, K)                       -> (L, B, K)
    reshape                                               -> (B, K, H2, W2)

Exported to ONNX (``torch.onnx.export``, :mod:`keypoints.model.export`) the layer
takes a form of plain operators instead (:meth:`LocallyConnected2d.forward_plain_ops`):
``F.unfold`` traces to index arithmetic that OpenCV's importer refuses.

:func:`broadcast_locally_connected` keeps the naive broadcast version that is
often copied from forums, as a baseline for benchmarks; do not use it in a network.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from keypoints.errors import GeometryError
from keypoints.networks.geometry import output_size


class LocallyConnected2d(nn.Module):
    """Like ``nn.Conv2d``, but every output position has its own filters.

    Parameters
    ----------
    in_channels : int
        ``D1``, depth of the input.
    out_channels : int
        ``K``, number of filters at each position (depth of the output).
    kernel_size : int
        ``F``, side of the square filters.
    input_size : int or (int, int)
        ``(H, W)`` of the input; the layer only accepts that size, since its
        weights are tied to positions.
    stride : int
        ``S``, step between neighbouring positions.
    padding : int
        ``P``, zeros added on each side of the input.
    bias : bool
        Whether every output unit (channel and position) has its own bias.
    name : str
        Name of the layer, used in error messages.

    Attributes
    ----------
    weight : Parameter, shape (H2*W2, D1*F*F, K)
        Position ``l = i*W2 + j`` holds the filters of output row ``i``,
        column ``j``; the middle axis is ordered like ``F.unfold``'s
        (channel, kernel row, kernel column).
    bias : Parameter, shape (K, H2, W2), or None
    output_size : (int, int)
        ``(H2, W2)``.

    Raises
    ------
    GeometryError
        If the geometry gives no whole output size (at construction), or the
        input has the wrong depth or size (in forward).
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        input_size,
        stride=1,
        padding=0,
        bias=True,
        name="LocallyConnected2d",
    ):
        super().__init__()
        height, width = (input_size, input_size) if isinstance(input_size, int) else input_size
        self.name = name
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.input_size = (height, width)
        self.stride = stride
        self.padding = padding
        if in_channels < 1 or out_channels < 1:
            raise GeometryError(
                f"layer {name!r}: in_channels and out_channels must be at least 1, got {in_channels} and {out_channels}"
            )
        self.output_size = (
            output_size(height, kernel_size, stride, padding, layer=name),
            output_size(width, kernel_size, stride, padding, layer=name),
        )
        positions = self.output_size[0] * self.output_size[1]
        fan_in = in_channels * kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(positions, fan_in, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels, *self.output_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """Initialise like ``nn.Conv2d``: uniform in +-1/sqrt(fan_in), weights and biases.

        That is ``kaiming_uniform_(a=sqrt(5))`` with the fan-in of one filter,
        ``D1*F*F``; ``kaiming_uniform_`` itself cannot be called on ``weight``,
        as it would take the fan-in from the wrong axes of its 3-D shape.
        """
        fan_in = self.weight.shape[1]
        gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
        bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def forward(self, x):
        """Apply the layer.

        Parameters
        ----------
        x : Tensor, shape (B, D1, H, W)

        Returns
        -------
        Tensor, shape (B, K, H2, W2)
            In the memory format of ``x`` (channels_last in, channels_last out).
        """
        if torch.onnx.is_in_onnx_export():
            return self.forward_plain_ops(x)
        self._check_input(x)
        batch = x.shape[0]
        height, width = self.output_size
        cols = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (B, D1*F*F, L)
        # BLAS wants a unit stride inside every matrix; the permuted view has
        # none, and bmm would then copy the L matrices one by one.
        cols = cols.permute(2, 0, 1).contiguous()  # (L, B, D1*F*F)
        # bmm and baddbmm are on autocast's lower-precision lists, so under
        # autocast both operands (and the bias) are cast to one dtype for us.
        if self.bias is None:
            out = torch.bmm(cols, self.weight)  # (L, B, K)
        else:
            bias = self.bias.flatten(1).t().unsqueeze(1)  # (L, 1, K)
            out = torch.baddbmm(bias, cols, self.weight)  # (L, B, K)
        if out.requires_grad:
            # the gradient comes back in the output's (B, K, H2, W2) layout,
            # as strided (L, B, K) matrices: same per-matrix copies otherwise
            out.register_hook(_contiguous)
        out = out.view(height, width, batch, self.out_channels).permute(2, 3, 0, 1)  # (B, K, H2, W2)
        return out.contiguous(memory_format=_memory_format(x))

    def forward_plain_ops(self, x):
        """The same layer in operators every ONNX runtime reads: a depthwise convolution, MatMul, Transpose.

        The patches come from a grouped convolution with one-hot filters
        (exact: each output is one input value times 1), in ``F.unfold``'s
        order; every reshape names its sizes, with -1 for the batch, so the
        exported graph has no shape arithmetic and takes any batch size.

        Parameters
        ----------
        x : Tensor, shape (B, D1, H, W)

        Returns
        -------
        Tensor, shape (B, K, H2, W2)
        """
        height, width = self.output_size
        positions, fan_in = self.weight.shape[:2]
        side = self.kernel_size
        one_hot = torch.eye(side * side, dtype=x.dtype, device=x.device).reshape(side * side, 1, side, side)
        filters = one_hot.repeat(self.in_channels, 1, 1, 1)  # (D1*F*F, 1, F, F)
        patches = F.conv2d(x, filters, stride=self.stride, padding=self.padding, groups=self.in_channels)
        cols = patches.reshape(-1, fan_in, positions).permute(2, 0, 1)  # (L, B, D1*F*F)
        out = torch.matmul(cols, self.weight)  # (L, B, K)
        if self.bias is not None:
            out = out + self.bias.reshape(self.out_channels, positions).t().unsqueeze(1)
        return out.permute(1, 2, 0).reshape(-1, self.out_channels, height, width)

    def _check_input(self, x):
        expected = (self.in_channels, *self.input_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise GeometryError(
                f"layer {self.name!r} takes inputs of shape (B, {expected[0]}, {expected[1]}, "
                f"{expected[2]}), got {tuple(x.shape)}"
            )

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, output_size={self.output_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )


def broadcast_locally_connected(x, weight, bias, kernel_size, stride=1, padding=0):
    """The naive locally-connected layer: one big broadcast product, then a sum.

    The usual forum answer. It materialises a (B, K, D1*F*F, L) tensor, which
    is ``K`` times the memory of the unfolded input, so it is slow and runs out
    of memory on real sizes. Kept only as the baseline of benchmarks and as an
    independent check of :class:`LocallyConnected2d`, whose parameters it takes.

    Parameters
    ----------
    x : Tensor, shape (B, D1, H, W)
    weight : Tensor, shape (L, D1*F*F, K)
        As ``LocallyConnected2d.weight``.
    bias : Tensor, shape (K, H2, W2), or None
        As ``LocallyConnected2d.bias``.
    kernel_size, stride, padding : int
        ``F``, ``S`` and ``P``.

    Returns
    -------
    Tensor, shape (B, K, H2, W2)
    """
    height = output_size(x.shape[2], kernel_size, stride, padding, layer="broadcast")
    width = output_size(x.shape[3], kernel_size, stride, padding, layer="broadcast")
    cols = F.unfold(x, kernel_size, padding=padding, stride=stride)  # (B, D1*F*F, L)
    filters = weight.permute(2, 1, 0)  # (K, D1*F*F, L)
    out = (cols.unsqueeze(1) * filters.unsqueeze(0)).sum(dim=2)  # (B, K, D1*F*F, L) -> (B, K, L)
    out = out.view(x.shape[0], -1, height, width)  # (B, K, H2, W2)
    return out if bias is None else out + bias


def _contiguous(grad):
    # autograd may pass None for a gradient that is known to be zero
    return None if grad is None else grad.contiguous()


def _memory_format(x):
    # a 1-channel or 1x1 tensor is "contiguous" in both formats; call that NCHW
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format
