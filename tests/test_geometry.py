"""Output sizes and parameter counts, on cases computed by hand."""

import numpy as np
import pytest
import torch
from torch import nn

from keypoints.errors import GeometryError, KeypointsError
from keypoints.networks.geometry import (
    batchnorm_params,
    conv_params,
    dense_params,
    local_params,
    output_size,
    pool_output_size,
)


@pytest.mark.parametrize(
    "input_size, kernel_size, stride, padding, expected",
    [
        (96, 3, 1, 0, 94),  # conv1 of the classic net
        (47, 2, 1, 0, 46),  # conv2
        (23, 2, 1, 0, 22),  # conv3
        (96, 3, 1, 1, 96),  # "same" padding
        (96, 4, 2, 1, 48),  # bnconv's strided first layer
        (227, 11, 4, 0, 55),  # AlexNet's first layer
        (7, 3, 2, 1, 4),
        (5, 5, 1, 0, 1),  # the filter exactly covers the input
        (1, 3, 1, 1, 1),
    ],
)
def test_output_size_by_hand(input_size, kernel_size, stride, padding, expected):
    assert output_size(input_size, kernel_size, stride, padding) == expected


def test_output_size_accepts_numpy_integers():
    assert output_size(np.int64(96), np.int32(3)) == 94


def test_output_size_not_whole_names_layer_and_sizes():
    with pytest.raises(GeometryError) as caught:
        output_size(47, 2, stride=2, padding=0, layer="local2")
    assert str(caught.value) == (
        "layer 'local2': (47 - 2 + 2*0) / 2 + 1 = 23.5 is not a whole number; "
        "choose kernel_size, stride and padding so that it is"
    )


def test_output_size_below_one():
    with pytest.raises(GeometryError, match=r"layer 'conv9': \(2 - 5 \+ 2\*1\) / 1 \+ 1 = 0 is below 1"):
        output_size(2, 5, padding=1, layer="conv9")


def test_geometry_error_is_a_keypoints_error():
    with pytest.raises(KeypointsError):
        output_size(10, 20)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((0, 3), "input size must be an integer of at least 1, got 0"),
        ((10, 0), "kernel size must be an integer of at least 1, got 0"),
        ((10, 3, 0), "stride must be an integer of at least 1, got 0"),
        ((10, 3, 1, -1), "padding must be an integer of at least 0, got -1"),
        ((10, 2.5), "kernel size must be an integer of at least 1, got 2.5"),
        ((10, True), "kernel size must be an integer of at least 1, got True"),
    ],
)
def test_output_size_bad_arguments(arguments, message):
    with pytest.raises(GeometryError, match=f"layer 'bad': {message}"):
        output_size(*arguments, layer="bad")


@pytest.mark.parametrize(
    "input_size, pool_size, stride, expected",
    [
        (94, 2, None, 47),
        (47, 2, None, 23),  # floor, as nn.MaxPool2d: the last row is dropped
        (11, 3, 2, 5),
        (3, 3, None, 1),
    ],
)
def test_pool_output_size_by_hand(input_size, pool_size, stride, expected):
    assert pool_output_size(input_size, pool_size, stride) == expected
    pooled = nn.MaxPool2d(pool_size, stride)(torch.zeros(1, 1, input_size, input_size))
    assert pooled.shape[-1] == expected


def test_pool_window_larger_than_input():
    with pytest.raises(
        GeometryError, match=r"layer 'pool4': the pooling window \(2\) is larger than the padded input \(1\)"
    ):
        pool_output_size(1, 2, layer="pool4")


def test_conv_params_by_hand():
    assert conv_params(1, 32, 3) == 3 * 3 * 1 * 32 + 32 == 320
    assert conv_params(32, 64, 2) == 8_256
    assert conv_params(64, 128, 2) == 32_896
    assert conv_params(16, 24, 3, bias=False) == 3_456
    assert conv_params(64, 128, 2) == sum(p.numel() for p in nn.Conv2d(64, 128, 2).parameters())


def test_local_params_by_hand():
    # H2*W2*F*F*D1*K weights + H2*W2*K biases (one per output unit)
    assert local_params(1, 32, 3, 94, 94) == 94 * 94 * (9 * 32 + 32) == 2_827_520
    assert local_params(32, 64, 2, 46, 46) == 2116 * (4 * 32 * 64 + 64) == 17_469_696
    assert local_params(64, 128, 2, 22, 22) == 15_921_664
    assert local_params(64, 128, 2, 22, 22, bias=False) == 484 * 32_768
    assert local_params(3, 5, 2, 4, 7) == 28 * (4 * 3 * 5) + 28 * 5


def test_dense_and_batchnorm_params_by_hand():
    assert dense_params(128 * 11 * 11, 500) == 15_488 * 500 + 500 == 7_744_500
    assert dense_params(500, 30) == 15_030
    assert dense_params(500, 30, bias=False) == 15_000
    assert batchnorm_params(16) == 32 == sum(p.numel() for p in nn.BatchNorm2d(16).parameters())
