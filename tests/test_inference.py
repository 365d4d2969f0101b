"""Inference: scale, forward and unscale written once, for arrays and for differentiable tensors."""

import numpy as np
import torch

from keypoints.data.transforms import HALF, scale_images, unscale_keypoints
from keypoints.model.inference import forward_pixels, module_device, predict_pixels


def linear_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(96 * 96, 30)).eval()


def test_predict_pixels_is_the_array_scale_forward_unscale_in_batches():
    module = linear_net()
    images = np.random.default_rng(0).integers(0, 256, (7, 1, 96, 96), dtype=np.uint8)
    with torch.no_grad():  # batch by batch: a batch of one may take another matrix kernel
        scaled = [module(torch.from_numpy(scale_images(images[i : i + 3]))).numpy() for i in (0, 3, 6)]
    expected = unscale_keypoints(np.concatenate(scaled))
    got = predict_pixels(module, images, batch_size=3)  # three batches: 3, 3, 1
    assert got.shape == (7, 30) and got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert predict_pixels(module, images[..., ::-1]).shape == (7, 30)  # a mirrored view needs no copy first


def test_forward_pixels_is_differentiable_in_pixels_per_gray_level():
    module = linear_net()
    gray = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (2, 1, 96, 96)).astype(np.float32))
    gray.requires_grad_(True)
    out = forward_pixels(module, gray)  # (2, 30)
    out[:, 4].sum().backward()
    expected = module[1].weight[4].detach().reshape(96, 96) * HALF / 255  # d(pixels out) / d(gray level)
    torch.testing.assert_close(gray.grad[0, 0], expected, rtol=1e-5, atol=1e-9)
    torch.testing.assert_close(gray.grad[1, 0], expected, rtol=1e-5, atol=1e-9)


def test_module_device_of_a_module_without_parameters_is_the_cpu():
    assert module_device(torch.nn.ReLU()) == torch.device("cpu")
    assert module_device(linear_net()) == torch.device("cpu")
