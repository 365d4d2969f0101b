"""The fully-convolutional form: every window of a larger image equals the network on that crop."""

import numpy as np
import pytest
import torch

from keypoints.data.transforms import unscale_keypoints
from keypoints.errors import ConversionError
from keypoints.networks import BatchNorm, Conv, Dense, Dropout, Flatten, Local, Pool, ReLU, build_network
from keypoints.networks.build import Network, build_module
from keypoints.networks.fully_conv import to_fully_convolutional
from keypoints.predict.photo.refine import predict_windows


def crops_of(image, fully_conv):
    """The original network's view: every window cut out, (Hn*Wn, D, 96, 96)."""
    rows, cols = fully_conv.windows(*image.shape[-2:])
    s, w = fully_conv.stride, fully_conv.window
    return torch.cat([image[:, :, s * i : s * i + w, s * j : s * j + w] for i in range(rows) for j in range(cols)]), (
        rows,
        cols,
    )


def assert_every_window_matches(net, image, atol=1e-4):
    net.eval()
    fully_conv = to_fully_convolutional(net)
    with torch.no_grad():
        out = fully_conv(image)[0]  # (K, Hn, Wn)
        crops, (rows, cols) = crops_of(image, fully_conv)
        expected = net(crops)  # (Hn*Wn, K)
    assert out.shape == (expected.shape[1], rows, cols)
    got = out.permute(1, 2, 0).reshape(rows * cols, -1)
    # the windows must differ from each other far more than the tolerance, or the test could not fail
    assert (expected - expected.mean(dim=0)).abs().max() > 100 * atol
    torch.testing.assert_close(got, expected, atol=atol, rtol=0)
    return fully_conv


def test_conv_every_window_equals_the_network_on_its_crop():
    torch.manual_seed(1)
    net = build_network("conv")
    with torch.no_grad():  # larger outputs than the initialisation gives, so 1e-4 is a real test
        net.dense3.weight.mul_(20)
    image = torch.rand(1, 1, 96 + 8 * 3 + 5, 96 + 8 * 2 + 7)  # sizes that are not whole strides
    fully_conv = assert_every_window_matches(net, image)
    assert fully_conv.stride == 8 and fully_conv.exact
    assert fully_conv.windows(*image.shape[-2:]) == (4, 3)


def test_batch_norm_folds_exactly_in_eval_and_dropout_is_dropped():
    torch.manual_seed(2)
    network = Network("bn", "test", (
        Conv(6, 3), BatchNorm(), ReLU(), Pool(2), Dropout(0.3),
        Conv(8, 3, stride=2), BatchNorm(), ReLU(), Pool(2),
        Flatten(), Dense(16), BatchNorm(), ReLU(), Dropout(0.5), Dense(30),
    ))  # fmt: skip
    net = build_module(network)
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                layer.running_mean.uniform_(-0.5, 0.5)
                layer.running_var.uniform_(0.5, 2.0)
                layer.weight.uniform_(0.5, 2.0)
                layer.bias.uniform_(-0.5, 0.5)
    image = torch.rand(1, 1, 96 + 16 * 2, 96 + 16)
    fully_conv = assert_every_window_matches(net, image)
    assert fully_conv.stride == 8  # pool 2 * conv stride 2 * pool 2
    assert not any(isinstance(m, torch.nn.Dropout) for m in fully_conv.modules())
    fully_conv.train()
    assert not fully_conv.training  # batch statistics would mix the windows


def test_predict_windows_gives_keypoints_in_the_large_images_pixels():
    torch.manual_seed(3)
    net = build_network("conv").eval()
    image = np.random.default_rng(0).integers(0, 256, (96 + 16, 96 + 8), dtype=np.uint8)
    fully_conv = to_fully_convolutional(net)
    pixels = predict_windows(fully_conv, image)  # (3, 2, 30)
    assert pixels.shape == (3, 2, 30)
    with torch.no_grad():
        crop = torch.from_numpy(image[16:112, 8:104].astype(np.float32) / 255)[None, None]
        expected = unscale_keypoints(net(crop).numpy())[0]
    expected[0::2] += 8
    expected[1::2] += 16
    np.testing.assert_allclose(pixels[2, 1], expected, atol=1e-3)


def test_locally_connected_networks_are_refused_with_the_reason():
    net = build_module(
        Network("tiny-local", "test", (Local(4, 3), ReLU(), Flatten(), Dense(30)), input_volume=(1, 12, 12))
    )
    with pytest.raises(
        ConversionError,
        match=r"layer 'local1' is locally-connected: its filters are tied to "
        r"positions of the 12x12 frame.*share their weights",
    ):
        to_fully_convolutional(net, input_volume=(1, 12, 12))


def test_padded_networks_are_refused_unless_allowed_and_then_marked_inexact():
    net = build_network("bnconv").eval()
    with pytest.raises(ConversionError, match=r"layer 'conv1' pads its input by \(1, 1\).*allow_padding=True"):
        to_fully_convolutional(net)
    fully_conv = to_fully_convolutional(net, allow_padding=True)
    assert not fully_conv.exact and fully_conv.stride == 32
    with torch.no_grad():
        assert fully_conv(torch.rand(1, 1, 160, 128)).shape == (1, 30, 3, 2)


def test_too_small_an_image_is_refused():
    fully_conv = to_fully_convolutional(build_network("conv"))
    with pytest.raises(Exception, match=r"at least 96x96 pixels, got \(90, 120\)"):
        fully_conv(torch.rand(1, 1, 90, 120))


def test_a_module_without_its_spec_is_refused():
    plain = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(2 * 94 * 94, 30))
    with pytest.raises(ConversionError, match=r"built from a spec .* got Sequential without one"):
        to_fully_convolutional(plain)
    net = build_network("conv")
    net.add_module("extra", torch.nn.ReLU())  # the layers no longer match the spec it keeps
    with pytest.raises(
        ConversionError, match=r"the module's layers \(conv1, .*dense3, extra\) are not those of its spec 'conv'"
    ):
        to_fully_convolutional(net)


def test_a_layer_kind_without_a_converter_is_refused_by_name():
    from keypoints.networks import GlobalPool

    net = build_module(Network("gap", "test", (Conv(4, 3), GlobalPool(), Dense(30)), input_volume=(1, 12, 12)))
    with pytest.raises(ConversionError, match=r"layer 'globalpool1' is a global pooling"):
        to_fully_convolutional(net)


def test_the_volumes_and_strides_come_from_the_spec_without_running_the_network(monkeypatch):
    net = build_network("conv")
    for layer in net.children():  # a probe through any original layer would now fail
        monkeypatch.setattr(layer, "forward", lambda *a: pytest.fail("a layer was run"))
    fully_conv = to_fully_convolutional(net)
    assert fully_conv.stride == 8
    assert fully_conv.body.dense1.kernel_size == (11, 11) and fully_conv.body.dense1.in_channels == 128
    assert fully_conv.body.dense2.kernel_size == (1, 1) and fully_conv.body.dense3.out_channels == 30
