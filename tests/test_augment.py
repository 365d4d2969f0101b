"""Random rotation, scale and shift: pixels and keypoints move together."""

import math

import numpy as np
import pytest
import torch

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.transforms import scale_keypoints, unscale_keypoints
from keypoints.training.augment import draw_jitter, jitter_faces
from keypoints.training.batches import FaceBatches, FaceTensors

X_INDEX = torch.tensor([i for i, c in enumerate(KEYPOINT_COLUMNS) if c.endswith("_x")])
Y_INDEX = X_INDEX + 1


def blob_image(x, y, pixel_offset):
    """(1, 1, 96, 96): a Gaussian spot centred on label (x, y), with label = pixel + pixel_offset."""
    rows, cols = np.mgrid[0:96, 0:96].astype(np.float64)
    spot = np.exp(-((cols - (x - pixel_offset)) ** 2 + (rows - (y - pixel_offset)) ** 2) / (2 * 2.0**2))
    return torch.from_numpy(spot[None, None]).float()


def centroid(image, pixel_offset):
    """Label coordinates (x, y) of an image's brightness centroid."""
    weights = image[0, 0].double().numpy()
    rows, cols = np.mgrid[0:96, 0:96]
    total = weights.sum()
    return (weights * cols).sum() / total + pixel_offset, (weights * rows).sum() / total + pixel_offset


@pytest.mark.parametrize("mirror_sum", [95.0, 97.0])
@pytest.mark.parametrize(
    "angle_deg, size, offset",
    [(0, 1, (0, 0)), (12, 1, (0, 0)), (-9, 1.1, (2.0, -1.5)), (0, 0.9, (0, 0)), (20, 0.95, (-3.0, 2.0))],
)
def test_a_spot_and_its_label_land_on_the_same_place(mirror_sum, angle_deg, size, offset):
    centre = mirror_sum / 2
    pixel_offset = centre - 47.5  # the labels' convention: 0 for OpenCV's pixel centres, 1 for the stand-in
    label = np.full((1, 30), np.nan, dtype=np.float32)
    label[0, 0], label[0, 1] = 62.0, 38.0  # left_eye_center, away from the centre
    image = blob_image(62.0, 38.0, pixel_offset)

    moved_image, moved = jitter_faces(
        image,
        torch.from_numpy(scale_keypoints(label)),
        torch.tensor([math.radians(angle_deg)]),
        torch.tensor([float(size)]),
        torch.tensor([offset], dtype=torch.float32),
        X_INDEX,
        Y_INDEX,
        centre,
    )

    x, y = unscale_keypoints(moved.numpy())[0, :2]
    spot_x, spot_y = centroid(moved_image, pixel_offset)
    assert abs(x - spot_x) < 0.05 and abs(y - spot_y) < 0.05, (x, y, spot_x, spot_y)
    assert np.isnan(moved.numpy()[0, 2:]).all()  # missing keypoints stay missing
    if angle_deg == 0 and size == 1 and offset == (0, 0):
        assert (x, y) == pytest.approx((62.0, 38.0), abs=1e-4)
        torch.testing.assert_close(moved_image, image, atol=1e-5, rtol=0)
    else:
        assert math.hypot(x - 62.0, y - 38.0) > 1.0


def test_a_rotation_turns_the_face_the_same_way_in_pixels_and_labels():
    # 90 degrees about the centre, in image coordinates (y down): (x, y) - c -> (-(y - c), x - c)
    label = np.full((1, 30), np.nan, dtype=np.float32)
    label[0, 0], label[0, 1] = 60.0, 48.5
    _, moved = jitter_faces(
        blob_image(60.0, 48.5, 1.0),
        torch.from_numpy(scale_keypoints(label)),
        torch.tensor([math.pi / 2]),
        torch.tensor([1.0]),
        torch.zeros(1, 2),
        X_INDEX,
        Y_INDEX,
        48.5,
    )
    assert unscale_keypoints(moved.numpy())[0, :2] == pytest.approx((48.5, 60.0), abs=1e-4)


def test_draws_stay_within_their_limits_and_follow_the_seed():
    first = draw_jitter(1000, torch.Generator().manual_seed(1), 10, 0.08, 2)
    again = draw_jitter(1000, torch.Generator().manual_seed(1), 10, 0.08, 2)
    for a, b in zip(first, again):
        torch.testing.assert_close(a, b)
    angle, size, offset = first
    assert angle.abs().max() <= math.radians(10) and angle.abs().max() > math.radians(9)
    assert (size - 1).abs().max() <= 0.08 and offset.abs().max() <= 2


def test_jitter_in_batches_keeps_the_order_and_flips_and_moves_every_face():
    images = torch.rand(20, 1, 96, 96)
    keypoints = torch.from_numpy(scale_keypoints(np.random.default_rng(0).uniform(30, 66, (20, 30))))
    faces = FaceTensors(images, keypoints, KEYPOINT_COLUMNS)
    plain = list(FaceBatches(faces, batch_size=8, shuffle=True, flip=True, seed=4))
    jittered = list(FaceBatches(faces, batch_size=8, shuffle=True, flip=True, seed=4, jitter=(10, 0.08, 2)))
    assert [x.shape for x, _ in jittered] == [x.shape for x, _ in plain]
    for (_, y_plain), (_, y_jittered) in zip(plain, jittered):
        moved = unscale_keypoints(y_jittered.numpy()) - unscale_keypoints(y_plain.numpy())
        # every face moved, none by more than the limits allow at this distance from the centre
        assert (np.abs(moved).max(axis=1) > 0).all() and np.abs(moved).max() < 12
