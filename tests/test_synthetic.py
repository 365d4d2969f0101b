"""The synthetic face generator: Kaggle format, exact keypoints on the drawn features, variety, learnability."""

import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints.data.schema import IMAGE_COLUMN, IMAGE_SIZE, KEYPOINT_COLUMNS, KEYPOINTS, N_PIXELS
from keypoints.data.synthetic import (
    KAGGLE_KEPT_KEYPOINTS,
    drop_keypoints_like_kaggle,
    generate_faces,
    write_synthetic_csv,
)
from keypoints.errors import DataError

N_FACES = 1800  # enough for the ridge check (1500 + 300); the other checks reuse them


@pytest.fixture(scope="module")
def faces():
    return generate_faces(N_FACES, seed=7)


def point(keypoints, name):
    """The (x, y) columns of one keypoint, shape (N, 2)."""
    j = 2 * KEYPOINTS.index(name)
    return keypoints[:, j : j + 2].astype(np.float64)


def sample(images, points, radius=0):
    """Gray level at each face's point (nearest pixel), averaged over a (2 radius + 1)^2 square."""
    x, y = np.rint(points).astype(int).T
    rows = np.arange(len(images))
    values = [
        images[rows, 0, np.clip(y + dy, 0, IMAGE_SIZE - 1), np.clip(x + dx, 0, IMAGE_SIZE - 1)]
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
    ]
    return np.mean(values, axis=0)


def skin(images, keypoints):
    """Each face's skin gray level: the median of the forehead between the brows and the two cheeks."""
    forehead = (point(keypoints, "left_eyebrow_inner_end") + point(keypoints, "right_eyebrow_inner_end")) / 2
    cheeks = [
        (point(keypoints, f"{side}_eye_center") + point(keypoints, f"mouth_{side}_corner")) / 2
        for side in ("left", "right")
    ]
    return np.median([sample(images, p, radius=1) for p in [forehead, *cheeks]], axis=0)


def darker_than_skin(faces, names):
    """How much darker than the skin the pixel at each keypoint is, shape (N, len(names))."""
    images, keypoints = faces
    reference = skin(images, keypoints)
    return np.column_stack([reference - sample(images, point(keypoints, name)) for name in names])


# --- format ---------------------------------------------------------------------


def test_shapes_and_dtypes():
    images, keypoints = generate_faces(3, seed=0)
    assert images.shape == (3, 1, IMAGE_SIZE, IMAGE_SIZE) and images.dtype == np.uint8
    assert keypoints.shape == (3, len(KEYPOINT_COLUMNS)) and keypoints.dtype == np.float32


def test_same_seed_same_faces_and_other_seed_other_faces():
    images, keypoints = generate_faces(20, seed=3)
    again_images, again_keypoints = generate_faces(20, seed=3)
    np.testing.assert_array_equal(images, again_images)
    np.testing.assert_array_equal(keypoints, again_keypoints)
    other_images, other_keypoints = generate_faces(20, seed=4)
    assert not np.array_equal(images, other_images)
    assert not np.allclose(keypoints, other_keypoints)
    # Faces are drawn one after the other, so asking for more does not change the first ones.
    first_images, first_keypoints = generate_faces(5, seed=3)
    np.testing.assert_array_equal(first_images, images[:5])
    np.testing.assert_array_equal(first_keypoints, keypoints[:5])


@pytest.mark.parametrize("n", [0, -1, 2.5, "3"])
def test_bad_counts_are_data_errors(n):
    with pytest.raises(DataError):
        generate_faces(n)


def test_every_keypoint_is_inside_the_frame(faces):
    _, keypoints = faces
    assert np.isfinite(keypoints).all()
    assert keypoints.min() >= 0.0 and keypoints.max() <= IMAGE_SIZE - 1


# --- the keypoints sit on the drawn features ------------------------------------


def test_left_is_the_subjects_left_on_the_images_right(faces):
    _, keypoints = faces
    for name in ("eye_center", "eye_inner_corner", "eye_outer_corner", "eyebrow_inner_end", "eyebrow_outer_end"):
        assert (point(keypoints, f"left_{name}")[:, 0] > point(keypoints, f"right_{name}")[:, 0]).all(), name
    assert (point(keypoints, "mouth_left_corner")[:, 0] > point(keypoints, "mouth_right_corner")[:, 0]).all()
    # And the outer corners are outside the inner ones, the brows above the eyes, the mouth below the nose.
    assert (point(keypoints, "left_eye_outer_corner")[:, 0] > point(keypoints, "left_eye_inner_corner")[:, 0]).all()
    assert (point(keypoints, "right_eye_outer_corner")[:, 0] < point(keypoints, "right_eye_inner_corner")[:, 0]).all()
    assert (point(keypoints, "left_eyebrow_inner_end")[:, 1] < point(keypoints, "left_eye_center")[:, 1]).all()
    assert (point(keypoints, "mouth_center_top_lip")[:, 1] > point(keypoints, "nose_tip")[:, 1]).all()


def test_eye_centres_are_dark_irises(faces):
    darker = darker_than_skin(faces, ["left_eye_center", "right_eye_center"])
    assert darker.mean() > 80
    assert (darker > 25).mean() > 0.99


def test_eye_corners_are_the_ends_of_the_drawn_eyes(faces):
    names = [f"{side}_eye_{corner}_corner" for side in ("left", "right") for corner in ("inner", "outer")]
    darker = darker_than_skin(faces, names)
    assert darker.mean() > 20
    assert (darker > 5).mean() > 0.95


def test_brow_ends_lie_on_dark_brow_pixels(faces):
    names = [f"{side}_eyebrow_{end}_end" for side in ("left", "right") for end in ("inner", "outer")]
    darker = darker_than_skin(faces, names)
    assert darker.mean() > 60
    assert (darker > 15).mean() > 0.99


def test_mouth_keypoints_lie_on_lip_pixels(faces):
    names = ["mouth_left_corner", "mouth_right_corner", "mouth_center_top_lip", "mouth_center_bottom_lip"]
    darker = darker_than_skin(faces, names)
    assert darker.mean() > 30
    assert (darker > 5).mean() > 0.98


def test_the_nose_shadow_lies_just_below_the_nose_tip(faces):
    images, keypoints = faces
    eyes = (point(keypoints, "left_eye_center") + point(keypoints, "right_eye_center")) / 2
    down = point(keypoints, "mouth_center_bottom_lip") - eyes
    down /= np.linalg.norm(down, axis=1, keepdims=True)
    tip = point(keypoints, "nose_tip")
    below = sample(images, tip + 3 * down, radius=1)
    above = sample(images, tip - 3 * down, radius=1)
    assert (above - below).mean() > 15
    assert (below < above).mean() > 0.9


# --- variety and learnability ---------------------------------------------------


def test_faces_vary_in_position_size_and_brightness(faces):
    images, keypoints = faces
    for name in ("left_eye_center", "right_eye_center"):
        assert (point(keypoints, name).std(axis=0) > 2.0).all()
    interocular = np.linalg.norm(point(keypoints, "left_eye_center") - point(keypoints, "right_eye_center"), axis=1)
    assert 30 < interocular.mean() < 42 and interocular.std() > 2.0
    assert images.reshape(len(images), -1).mean(axis=1).std() > 15
    # Mean keypoints close to the Kaggle ones, e.g. the left eye centre (66.4, 37.7) and the nose tip (48.4, 62.7).
    np.testing.assert_allclose(point(keypoints, "left_eye_center").mean(axis=0), (66.4, 37.7), atol=2.5)
    np.testing.assert_allclose(point(keypoints, "nose_tip").mean(axis=0), (48.4, 62.7), atol=2.5)


def test_a_ridge_regression_on_pixels_finds_the_eyes(faces):
    images, keypoints = faces
    small = np.stack([cv2.resize(image[0], (24, 24), interpolation=cv2.INTER_AREA) for image in images])
    x = small.reshape(len(images), -1).astype(np.float64)
    y = np.hstack([point(keypoints, "left_eye_center"), point(keypoints, "right_eye_center")])
    train, test = slice(0, 1500), slice(1500, 1800)
    mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-6
    x = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    penalty = 100.0 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0  # no penalty on the intercept
    weights = np.linalg.solve(x[train].T @ x[train] + penalty, x[train].T @ y[train])
    rmse = np.sqrt(np.mean((x[test] @ weights - y[test]) ** 2))
    baseline = np.sqrt(np.mean((y[train].mean(axis=0) - y[test]) ** 2))
    assert rmse < 0.7 * baseline, (rmse, baseline)


# --- Kaggle-like missing keypoints and the CSV ----------------------------------


def kept_columns():
    return [j for j, column in enumerate(KEYPOINT_COLUMNS) if column.rsplit("_", 1)[0] in KAGGLE_KEPT_KEYPOINTS]


def test_kaggle_kept_keypoints_are_the_usual_four():
    assert set(KAGGLE_KEPT_KEYPOINTS) == {"left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip"}
    assert len(kept_columns()) == 8


def test_drop_keypoints_like_kaggle_keeps_the_four_in_the_right_fraction():
    _, keypoints = generate_faces(40, seed=2)
    keypoints = np.tile(keypoints, (25, 1))  # 1000 rows; the drawing is not what is tested here
    original = keypoints.copy()
    dropped = drop_keypoints_like_kaggle(keypoints, 0.7, seed=5)
    np.testing.assert_array_equal(keypoints, original)  # the input is left alone
    incomplete = np.isnan(dropped).any(axis=1)
    assert incomplete.sum() == 700
    kept = kept_columns()
    other = [j for j in range(len(KEYPOINT_COLUMNS)) if j not in kept]
    np.testing.assert_array_equal(dropped[:, kept], original[:, kept])
    assert np.isnan(dropped[np.ix_(incomplete, other)]).all()
    np.testing.assert_array_equal(dropped[~incomplete], original[~incomplete])
    # The real file's proportion: 7049 rows, 2140 complete.
    kaggle = drop_keypoints_like_kaggle(np.zeros((7049, 30)), 1 - 2140 / 7049)
    assert (~np.isnan(kaggle).any(axis=1)).sum() == 2140
    assert not np.isnan(drop_keypoints_like_kaggle(keypoints, 0.0)).any()
    assert np.isnan(drop_keypoints_like_kaggle(keypoints, 1.0)[:, other]).all()


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_drop_keypoints_rejects_a_bad_fraction(fraction):
    with pytest.raises(DataError):
        drop_keypoints_like_kaggle(np.zeros((4, 30)), fraction)


def test_drop_keypoints_rejects_a_bad_shape():
    with pytest.raises(DataError):
        drop_keypoints_like_kaggle(np.zeros((4, 29)), 0.5)


def test_write_synthetic_csv_writes_the_kaggle_layout(tmp_path):
    n = 6
    path = write_synthetic_csv(tmp_path / "sub" / "training.csv", n, seed=11, fraction_incomplete=0.5)
    assert path == tmp_path / "sub" / "training.csv"
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == [*KEYPOINT_COLUMNS, IMAGE_COLUMN]
    assert len(lines) == 1 + n
    images, keypoints = generate_faces(n, seed=11)
    empty_rows = 0
    for line, image in zip(lines[1:], images):
        fields = line.split(",")
        assert len(fields) == len(KEYPOINT_COLUMNS) + 1
        pixels = [int(v) for v in fields[-1].split(" ")]
        assert len(pixels) == N_PIXELS and min(pixels) >= 0 and max(pixels) <= 255
        assert pixels == image.ravel().tolist()
        empty_rows += "" in fields[:-1]
    assert empty_rows == n // 2
    table = pd.read_csv(path)
    assert list(table.columns) == [*KEYPOINT_COLUMNS, IMAGE_COLUMN] and len(table) == n
    written = table[list(KEYPOINT_COLUMNS)].to_numpy()
    present = ~np.isnan(written)
    np.testing.assert_allclose(written[present], keypoints[present], rtol=0, atol=1e-4)
