"""Scaling and flipping come in pairs that undo each other; a flip relabels left and right."""

import numpy as np

from keypoints.data.schema import KEYPOINT_COLUMNS, mirror_name
from keypoints.data.transforms import (
    flip_horizontal,
    flip_permutation,
    scale_images,
    scale_keypoints,
    unscale_images,
    unscale_keypoints,
)

COL = {name: i for i, name in enumerate(KEYPOINT_COLUMNS)}


def faces(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 1, 96, 96), dtype=np.uint8), rng.uniform(0, 96, (n, 30)).astype(np.float32)


def test_pixel_scaling_round_trips_and_spans_0_1():
    images, _ = faces()
    scaled = scale_images(images)
    assert scaled.dtype == np.float32 and scaled.min() >= 0 and scaled.max() <= 1
    assert scale_images(np.array([0, 255])).tolist() == [0.0, 1.0]
    np.testing.assert_array_equal(unscale_images(scaled), images)


def test_keypoint_scaling_maps_the_frame_to_minus_one_one_and_back():
    assert scale_keypoints(np.array([0.0, 48.0, 96.0])).tolist() == [-1.0, 0.0, 1.0]
    _, keypoints = faces()
    np.testing.assert_allclose(unscale_keypoints(scale_keypoints(keypoints)), keypoints, atol=1e-5)
    assert np.isnan(scale_keypoints(np.array([np.nan]))).all()


def test_twelve_column_pairs_swap():
    perm = flip_permutation(KEYPOINT_COLUMNS)
    swapped = [(KEYPOINT_COLUMNS[i], KEYPOINT_COLUMNS[j]) for i, j in enumerate(perm) if i < j]
    assert len(swapped) == 12
    assert ("left_eye_center_x", "right_eye_center_x") in swapped
    assert ("mouth_left_corner_y", "mouth_right_corner_y") in swapped
    assert perm[COL["nose_tip_x"]] == COL["nose_tip_x"]
    assert all(mirror_name(a) == b for a, b in swapped)


def test_double_flip_is_the_identity_in_pixels_and_scaled():
    images, keypoints = faces()
    for points, scaled in ((keypoints, False), (scale_keypoints(keypoints), True)):
        once = flip_horizontal(images, points, KEYPOINT_COLUMNS, scaled=scaled)
        twice = flip_horizontal(*once, KEYPOINT_COLUMNS, scaled=scaled)
        np.testing.assert_array_equal(twice[0], images)
        np.testing.assert_allclose(twice[1], points, atol=1e-5)


def test_flipped_left_eye_is_the_mirrored_right_eye():
    images, keypoints = faces()
    flipped_images, flipped = flip_horizontal(images, keypoints, KEYPOINT_COLUMNS, scaled=False)
    np.testing.assert_allclose(flipped[:, COL["left_eye_center_x"]], 95 - keypoints[:, COL["right_eye_center_x"]])
    np.testing.assert_allclose(flipped[:, COL["left_eye_center_y"]], keypoints[:, COL["right_eye_center_y"]])
    np.testing.assert_allclose(flipped[:, COL["nose_tip_x"]], 95 - keypoints[:, COL["nose_tip_x"]])
    # the pixel under a keypoint is the pixel under its mirrored twin
    marked = np.zeros((1, 1, 96, 96), dtype=np.uint8)
    x, y = 70, 30
    marked[0, 0, y, x] = 255
    point = np.full((1, 30), 48.0, dtype=np.float32)
    point[0, COL["left_eye_center_x"]], point[0, COL["left_eye_center_y"]] = x, y
    image, moved = flip_horizontal(marked, point, KEYPOINT_COLUMNS, scaled=False)
    mx, my = moved[0, COL["right_eye_center_x"]], moved[0, COL["right_eye_center_y"]]
    assert image[0, 0, int(my), int(mx)] == 255


def test_scaled_flip_agrees_with_the_pixel_flip():
    images, keypoints = faces()
    _, in_pixels = flip_horizontal(images, keypoints, KEYPOINT_COLUMNS, scaled=False)
    _, in_scaled = flip_horizontal(images, scale_keypoints(keypoints), KEYPOINT_COLUMNS, scaled=True)
    np.testing.assert_allclose(unscale_keypoints(in_scaled), in_pixels, atol=1e-4)


def test_flip_about_another_axis_still_pairs_up():
    images, keypoints = faces()
    once = flip_horizontal(images, keypoints, KEYPOINT_COLUMNS, scaled=False, mirror_sum=97.0)
    np.testing.assert_allclose(once[1][:, COL["nose_tip_x"]], 97.0 - keypoints[:, COL["nose_tip_x"]])
    twice = flip_horizontal(*once, KEYPOINT_COLUMNS, scaled=False, mirror_sum=97.0)
    np.testing.assert_allclose(twice[1], keypoints, atol=1e-5)
    _, in_scaled = flip_horizontal(images, scale_keypoints(keypoints), KEYPOINT_COLUMNS, mirror_sum=97.0)
    np.testing.assert_allclose(unscale_keypoints(in_scaled), once[1], atol=1e-4)
