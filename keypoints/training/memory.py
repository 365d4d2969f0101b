"""Peak training memory of a network, computed from its geometry.

``tracemalloc`` does not see PyTorch's CPU allocations, and a process's peak resident size cannot be
split between networks trained one after another, so the figure is computed from the layer specs: what
one training step must hold at once. Allocator slack and PyTorch's own buffers are not counted, so it
is a lower bound of the real peak, comparable between networks.
"""

from keypoints.networks.build import walk
from keypoints.networks.layers import Local
from keypoints.networks.specs import get_network

FLOAT_BYTES = 4
"""float32 weights, gradients, moments and activations."""

OPTIMIZER_COPIES = {"adamw": 2, "nesterov": 1}
"""Tensors the optimizer keeps per parameter: AdamW's two moments, SGD's momentum buffer."""


def training_memory_bytes(network, batch_size, optimizer="adamw"):
    """Bytes one training step holds: parameters, gradients, optimizer state and saved activations.

    Parameters
    ----------
    network : str or Network
    batch_size : int
    optimizer : str
        ``"adamw"`` or ``"nesterov"``.

    Returns
    -------
    dict
        ``parameters`` (weights + gradients + optimizer state), ``activations`` (every layer's output
        kept for the backward pass, and a locally-connected layer's unfolded input, shape
        ``(B, D_in * F * F, H_out * W_out)``) and ``total``, in bytes.
    """
    steps = walk(get_network(network))
    params = sum(step.params for step in steps)
    state = params * FLOAT_BYTES * (2 + OPTIMIZER_COPIES[optimizer])
    values = 0
    for step in steps:
        values += _numel(step.output_volume)
        if isinstance(step.spec, Local):
            depth, height, width = step.output_volume
            values += step.input_volume[0] * step.spec.kernel_size**2 * height * width
    activations = values * batch_size * FLOAT_BYTES
    return {"parameters": state, "activations": activations, "total": state + activations}


def _numel(volume):
    count = 1
    for size in volume:
        count *= size
    return count
