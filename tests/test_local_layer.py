"""LocallyConnected2d against a naive loop, against Conv2d, and under autograd and autocast."""

import math
import random

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from keypoints.errors import GeometryError
from keypoints.networks.geometry import local_params
from keypoints.networks.local import LocallyConnected2d, broadcast_locally_connected


def loop_locally_connected(x, layer):
    """The definition, one output position at a time: (B, D1, H, W) -> (B, K, H2, W2)."""
    f, s = layer.kernel_size, layer.stride
    padded = F.pad(x, [layer.padding] * 4)
    height, width = layer.output_size
    out = x.new_zeros(x.shape[0], layer.out_channels, height, width)
    for i in range(height):
        for j in range(width):
            patch = padded[:, :, i * s : i * s + f, j * s : j * s + f].reshape(x.shape[0], -1)
            out[:, :, i, j] = patch @ layer.weight[i * width + j]
            if layer.bias is not None:
                out[:, :, i, j] += layer.bias[:, i, j]
    return out


def random_geometry(rng):
    """A random geometry that is known to be possible: pick the output size, derive the input."""
    while True:
        kernel, stride = rng.randint(1, 4), rng.randint(1, 3)
        padding = rng.randint(0, kernel - 1)
        out_h, out_w = rng.randint(1, 5), rng.randint(1, 5)
        height = (out_h - 1) * stride + kernel - 2 * padding
        width = (out_w - 1) * stride + kernel - 2 * padding
        if height >= 1 and width >= 1:
            return dict(
                in_channels=rng.randint(1, 4),
                out_channels=rng.randint(1, 5),
                kernel_size=kernel,
                input_size=(height, width),
                stride=stride,
                padding=padding,
            )


GEOMETRIES = [
    dict(in_channels=2, out_channels=3, kernel_size=3, input_size=(7, 9), stride=2, padding=1),
    dict(in_channels=3, out_channels=2, kernel_size=2, input_size=6, stride=2, padding=0),
    dict(in_channels=1, out_channels=4, kernel_size=3, input_size=(5, 4), stride=1, padding=2),
] + [random_geometry(random.Random(seed)) for seed in range(6)]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "-".join(map(str, g.values())))
def test_equals_naive_loop(geometry):
    torch.manual_seed(0)
    layer = LocallyConnected2d(**geometry).double()
    with torch.no_grad():
        layer.bias.normal_()  # so that a misplaced bias shows
    x = torch.randn(3, geometry["in_channels"], *layer.input_size, dtype=torch.float64)
    torch.testing.assert_close(layer(x), loop_locally_connected(x, layer))


def test_without_bias_equals_naive_loop():
    torch.manual_seed(1)
    layer = LocallyConnected2d(2, 3, 2, (5, 6), stride=1, padding=1, bias=False).double()
    x = torch.randn(2, 2, 5, 6, dtype=torch.float64)
    assert layer.bias is None
    torch.testing.assert_close(layer(x), loop_locally_connected(x, layer))


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_shared_filters_equal_conv2d(stride, padding):
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 4, 3, stride=stride, padding=padding).double()
    # input sizes that give a 5 x 3 output: (W2 - 1) * S + F - 2P
    height, width = 4 * stride + 3 - 2 * padding, 2 * stride + 3 - 2 * padding
    layer = LocallyConnected2d(3, 4, 3, (height, width), stride, padding).double()
    with torch.no_grad():
        # Conv2d's (K, D1, F, F) flattens in unfold's (channel, row, column) order
        layer.weight.copy_(conv.weight.reshape(4, -1).t().expand_as(layer.weight))
        layer.bias.copy_(conv.bias[:, None, None].expand_as(layer.bias))
    x = torch.randn(2, 3, height, width, dtype=torch.float64)
    torch.testing.assert_close(layer(x), conv(x))


@pytest.fixture
def one_thread():
    # gradcheck runs hundreds of tiny forward passes; on a busy 2-core machine
    # each parallel region waits milliseconds for its second thread
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_gradcheck(one_thread):
    torch.manual_seed(3)
    # small: every input element costs two forward passes
    layer = LocallyConnected2d(2, 2, 2, (2, 4), stride=2, padding=1).double()
    x = torch.randn(2, 2, 2, 4, dtype=torch.float64, requires_grad=True)
    weight = layer.weight.detach().clone().requires_grad_()
    bias = layer.bias.detach().clone().requires_grad_()

    def function(x, weight, bias):
        return functional_call(layer, {"weight": weight, "bias": bias}, (x,))

    assert torch.autograd.gradcheck(function, (x, weight, bias))


def test_impossible_geometry_refused_at_construction():
    with pytest.raises(GeometryError) as caught:
        LocallyConnected2d(32, 64, 2, 47, stride=2, name="local2")
    assert str(caught.value) == (
        "layer 'local2': (47 - 2 + 2*0) / 2 + 1 = 23.5 is not a whole number; "
        "choose kernel_size, stride and padding so that it is"
    )


def test_wrong_input_refused_in_forward():
    layer = LocallyConnected2d(3, 4, 3, (9, 11), name="local7")
    with pytest.raises(GeometryError) as caught:
        layer(torch.zeros(2, 3, 9, 10))
    assert str(caught.value) == "layer 'local7' takes inputs of shape (B, 3, 9, 11), got (2, 3, 9, 10)"
    with pytest.raises(
        GeometryError, match=r"layer 'local7' takes inputs of shape \(B, 3, 9, 11\), got \(2, 1, 9, 11\)"
    ):
        layer(torch.zeros(2, 1, 9, 11))
    with pytest.raises(GeometryError, match="layer 'local7'"):
        layer(torch.zeros(3, 9, 11))


def test_shapes_parameter_count_and_repr():
    layer = LocallyConnected2d(3, 5, 2, (7, 9), stride=1, padding=0)
    assert layer.output_size == (6, 8)
    assert layer.weight.shape == (48, 3 * 2 * 2, 5)
    assert layer.bias.shape == (5, 6, 8)
    assert sum(p.numel() for p in layer.parameters()) == local_params(3, 5, 2, 6, 8)
    assert layer(torch.zeros(2, 3, 7, 9)).shape == (2, 5, 6, 8)
    assert repr(layer) == (
        "LocallyConnected2d(3, 5, kernel_size=2, input_size=(7, 9), output_size=(6, 8), stride=1, padding=0, bias=True)"
    )


def test_initialised_like_conv2d():
    torch.manual_seed(4)
    layer = LocallyConnected2d(8, 16, 3, 12)
    bound = 1 / math.sqrt(8 * 3 * 3)  # Conv2d's: kaiming_uniform(a=sqrt(5)) with fan-in D1*F*F
    conv = nn.Conv2d(8, 16, 3)
    for ours, theirs in ((layer.weight, conv.weight), (layer.bias, conv.bias)):
        assert ours.abs().max() <= bound
        assert theirs.abs().max() <= bound
        # uniform on +-bound: standard deviation bound/sqrt(3)
        assert ours.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_broadcast_baseline_equals_layer():
    torch.manual_seed(5)
    layer = LocallyConnected2d(2, 3, 3, (6, 5), stride=1, padding=1).double()
    x = torch.randn(2, 2, 6, 5, dtype=torch.float64)
    baseline = broadcast_locally_connected(x, layer.weight, layer.bias, 3, stride=1, padding=1)
    torch.testing.assert_close(baseline, layer(x))
    no_bias = broadcast_locally_connected(x, layer.weight, None, 3, stride=1, padding=1)
    torch.testing.assert_close(no_bias, layer(x) - layer.bias)


def test_channels_last_input():
    torch.manual_seed(6)
    layer = LocallyConnected2d(4, 6, 2, (6, 8), stride=2)
    x = torch.randn(3, 4, 6, 8)
    expected = layer(x)
    got = layer(x.contiguous(memory_format=torch.channels_last))
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected)
    got.sum().backward()
    assert layer.weight.grad is not None


def test_cpu_autocast_bfloat16():
    torch.manual_seed(7)
    layer = LocallyConnected2d(4, 6, 3, 8, padding=1)
    conv = nn.Conv2d(3, 4, 1)
    x = torch.randn(2, 3, 8, 8)
    expected = layer(conv(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        # the convolution hands over bfloat16; the layer's weights are float32
        got = layer(conv(x))
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), expected, atol=0.05, rtol=0.05)
    got.float().sum().backward()
    assert layer.weight.grad.dtype == torch.float32


def test_gradients_match_naive_loop():
    torch.manual_seed(8)
    layer = LocallyConnected2d(2, 3, 2, (5, 5), stride=1, padding=1).double()
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    layer(x).pow(2).sum().backward()
    ours = (x.grad, layer.weight.grad, layer.bias.grad)
    x.grad = layer.weight.grad = layer.bias.grad = None
    loop_locally_connected(x, layer).pow(2).sum().backward()
    for got, expected in zip(ours, (x.grad, layer.weight.grad, layer.bias.grad)):
        torch.testing.assert_close(got, expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_autocast_bfloat16():
    torch.manual_seed(9)
    layer = LocallyConnected2d(4, 6, 3, 8, padding=1).cuda()
    x = torch.randn(2, 4, 8, 8, device="cuda")
    expected = layer(x)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        got = layer(x)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), expected, atol=0.05, rtol=0.05)
    got.float().sum().backward()
    assert layer.weight.grad.dtype == torch.float32


@pytest.mark.parametrize("seed", range(6))
def test_the_plain_operator_form_for_onnx_is_the_layer(seed):
    geometry = random_geometry(random.Random(seed))
    layer = LocallyConnected2d(**geometry, bias=seed % 2 == 0)
    x = torch.randn(3, geometry["in_channels"], *geometry["input_size"])
    torch.testing.assert_close(layer.forward_plain_ops(x), layer(x), rtol=1e-5, atol=1e-6)
