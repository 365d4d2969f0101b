"""Output sizes and parameter counts of the layers, as pure integer arithmetic.

Every layer and every network summary computes its sizes here, so that the
module that runs and the summary that is printed cannot disagree, and an
impossible geometry is refused before any tensor is allocated.

Notation (CS231n's): an input of depth ``D1`` and side ``W1``, ``K`` filters of
side ``F``, stride ``S``, zero padding ``P``; the output side is ``W2``.
"""

import operator

from keypoints.errors import GeometryError


def output_size(input_size, kernel_size, stride=1, padding=0, layer="layer"):
    """Side of the output of a convolution-like layer (conv, locally-connected).

    ``W2 = (W1 - F + 2P) / S + 1``, which must be a whole number of at least 1:
    a filter that does not tile the padded input exactly would silently drop
    input rows, so it is refused rather than rounded.

    Parameters
    ----------
    input_size : int
        ``W1``, side of the input (one spatial dimension).
    kernel_size : int
        ``F``, side of the filter.
    stride : int
        ``S``, step between neighbouring filter positions.
    padding : int
        ``P``, zeros added on each side of the input.
    layer : str
        Name of the layer, used in the error message.

    Returns
    -------
    int
        ``W2``.

    Raises
    ------
    GeometryError
        If an argument is out of range, or ``W2`` is not a whole number or is below 1.
    """
    input_size, kernel_size, stride, padding = _integers(
        layer, input_size=input_size, kernel_size=kernel_size, stride=stride, padding=padding
    )
    span = input_size - kernel_size + 2 * padding
    formula = f"({input_size} - {kernel_size} + 2*{padding}) / {stride} + 1"
    if span % stride:
        raise GeometryError(
            f"layer {layer!r}: {formula} = {span / stride + 1:g} is not a whole number; "
            "choose kernel_size, stride and padding so that it is"
        )
    size = span // stride + 1
    if size < 1:
        raise GeometryError(
            f"layer {layer!r}: {formula} = {size} is below 1; the kernel ({kernel_size}) "
            f"is larger than the padded input ({input_size + 2 * padding})"
        )
    return size


def pool_output_size(input_size, pool_size, stride=None, padding=0, layer="layer"):
    """Side of the output of a max or average pooling layer (floor mode).

    ``W2 = floor((W1 - F + 2P) / S) + 1``. Unlike :func:`output_size` the
    division may round down: that is what ``nn.MaxPool2d`` does and what the
    classic network relies on (47 -> 23 with 2x2 pooling).

    Parameters
    ----------
    input_size : int
        ``W1``, side of the input.
    pool_size : int
        ``F``, side of the pooling window.
    stride : int, optional
        ``S``; defaults to ``pool_size`` (non-overlapping windows).
    padding : int
        ``P``, implicit padding on each side.
    layer : str
        Name of the layer, used in the error message.

    Returns
    -------
    int
        ``W2``.

    Raises
    ------
    GeometryError
        If an argument is out of range or the window is larger than the padded input.
    """
    stride = pool_size if stride is None else stride
    input_size, pool_size, stride, padding = _integers(
        layer, input_size=input_size, pool_size=pool_size, stride=stride, padding=padding
    )
    span = input_size - pool_size + 2 * padding
    if span < 0:
        raise GeometryError(
            f"layer {layer!r}: the pooling window ({pool_size}) is larger than "
            f"the padded input ({input_size + 2 * padding})"
        )
    return span // stride + 1


def conv_params(in_channels, out_channels, kernel_size, bias=True):
    """Number of parameters of a convolution: ``F*F*D1*K`` weights + ``K`` biases.

    Parameters
    ----------
    in_channels, out_channels, kernel_size : int
        ``D1``, ``K`` and ``F``.
    bias : bool
        Whether the layer has one bias per filter.

    Returns
    -------
    int
    """
    return kernel_size * kernel_size * in_channels * out_channels + (out_channels if bias else 0)


def local_params(in_channels, out_channels, kernel_size, output_height, output_width, bias=True):
    """Number of parameters of a locally-connected layer.

    Every one of the ``H2*W2`` output positions has its own ``K`` filters and,
    like every output unit, its own bias: ``H2*W2*F*F*D1*K + H2*W2*K``.

    Parameters
    ----------
    in_channels, out_channels, kernel_size : int
        ``D1``, ``K`` and ``F``.
    output_height, output_width : int
        ``H2`` and ``W2``.
    bias : bool
        Whether every output unit has a bias.

    Returns
    -------
    int
    """
    positions = output_height * output_width
    return positions * conv_params(in_channels, out_channels, kernel_size, bias)


def dense_params(n_in, n_out, bias=True):
    """Number of parameters of a fully-connected layer: ``n_in*n_out + n_out``.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs and outputs.
    bias : bool
        Whether every output has a bias.

    Returns
    -------
    int
    """
    return n_in * n_out + (n_out if bias else 0)


def batchnorm_params(channels):
    """Number of learned parameters of a batch norm layer: a scale and a shift per channel.

    The running mean and variance are buffers, not parameters.

    Parameters
    ----------
    channels : int

    Returns
    -------
    int
    """
    return 2 * channels


def _integers(layer, **values):
    """The arguments as Python ints (NumPy integers accepted), or a GeometryError."""
    least = {"padding": 0}
    checked = []
    for what, value in values.items():
        minimum = least.get(what, 1)
        try:
            # bool is an int subclass, but True as a size is always a mistake
            number = None if isinstance(value, bool) else operator.index(value)
        except TypeError:
            number = None
        if number is None or number < minimum:
            raise GeometryError(
                f"layer {layer!r}: {what.replace('_', ' ')} must be an integer of at least {minimum}, got {value!r}"
            )
        checked.append(number)
    return checked
