"""Predictions averaged over a face and its mirror image."""

import numpy as np
import torch

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.transforms import flip_horizontal, scale_keypoints
from keypoints.model.inference import predict_pixels, predict_pixels_flip_averaged


class ReadsPixels(torch.nn.Module):
    """(B, 1, 96, 96) -> (B, 30): every output is a different weighted sum of the pixels."""

    def __init__(self):
        super().__init__()
        self.weights = torch.nn.Parameter(torch.randn(30, 96 * 96) / 96)

    def forward(self, x):
        return x.flatten(1) @ self.weights.t() / 50


def test_flip_average_is_the_mean_of_the_prediction_and_the_mirrored_back_prediction_of_the_mirror():
    module = ReadsPixels().eval()
    images = np.random.default_rng(0).integers(0, 256, (5, 1, 96, 96), dtype=np.uint8)
    straight = predict_pixels(module, images)
    mirrored = predict_pixels(module, np.ascontiguousarray(images[..., ::-1]))
    _, back = flip_horizontal(images, mirrored, KEYPOINT_COLUMNS, scaled=False, mirror_sum=97.0)

    averaged = predict_pixels_flip_averaged(module, images, KEYPOINT_COLUMNS, mirror_sum=97.0)

    assert averaged.shape == (5, 30)
    np.testing.assert_allclose(averaged, (straight + back) / 2, rtol=0, atol=1e-4)
    assert np.abs(averaged - straight).max() > 0.01  # the mirror pass does change the answer


class Constant(torch.nn.Module):
    def __init__(self, keypoints):
        super().__init__()
        self.register_buffer("out", torch.from_numpy(scale_keypoints(keypoints)))

    def forward(self, x):
        return self.out.expand(len(x), -1)


def test_a_symmetric_answer_about_the_mirror_axis_is_unchanged_and_a_shift_cancels():
    # left eye at x=60, right eye at x=37: symmetric about 97/2 = 48.5
    keypoints = np.full((1, 30), 50.0, dtype=np.float32)
    left_x, right_x = KEYPOINT_COLUMNS.index("left_eye_center_x"), KEYPOINT_COLUMNS.index("right_eye_center_x")
    keypoints[0, left_x], keypoints[0, right_x] = 60.0, 37.0
    images = np.zeros((2, 1, 96, 96), dtype=np.uint8)

    averaged = predict_pixels_flip_averaged(Constant(keypoints), images, KEYPOINT_COLUMNS, mirror_sum=97.0)

    assert averaged[0, left_x] == 60.0 and averaged[0, right_x] == 37.0
    # every other x sits at 50, 1.5 px right of the axis: its mirror sits 1.5 px left, so they meet on it
    others = [i for i, c in enumerate(KEYPOINT_COLUMNS) if c.endswith("_x") and i not in (left_x, right_x)]
    np.testing.assert_allclose(averaged[:, others], 48.5, atol=1e-4)
    y = [i for i, c in enumerate(KEYPOINT_COLUMNS) if c.endswith("_y")]
    np.testing.assert_allclose(averaged[:, y], 50.0, atol=1e-4)
