"""The Predictor on arrays of any shape, dtype and value, and on boxes of any value: Faces of the documented shapes,
or a KeypointsError that says why; never another exception, a warning, or a change to the caller's array."""

import warnings

import cv2
import numpy as np
import pytest
from fuzzing import FAST, LONG, keypoints_error_or_result
from hypothesis import example, given
from hypothesis import strategies as st

from keypoints import Predictor
from keypoints.data.synthetic import generate_faces
from keypoints.errors import BoxError, ImageError
from keypoints.faces import Faces
from keypoints.predict.crops.crop import Crop, cut_square

# what the predictor takes (uint8, float in [0, 1], a face in it) drawn more often than what it refuses
DTYPES = ("uint8",) * 4 + ("float32", "float64") * 2 + ("uint16", "int8", "int32", "int64", "float16", "bool")
FILLS = ("random", "zeros", "ones", "max", "nan", "inf", "some nan", "negative") + ("unit", "face") * 3

small_side = st.one_of(st.integers(0, 48), st.sampled_from([31, 32, 33, 63, 64, 65, 96, 127, 128, 200]))
thin = st.tuples(st.integers(1000, 3000), st.integers(0, 6))  # a few thousand pixels long, cheap to search
sides = st.one_of(st.tuples(small_side, small_side), thin, thin.map(lambda hw: hw[::-1]))
channels = st.sampled_from([None, None, 1, 3, 3, 3, 0, 2, 4, 5])


@st.composite
def arrays(draw):
    """An array of a drawn shape ((H, W) or (H, W, C)), dtype and fill, and its description."""
    height, width = draw(sides)
    count = draw(channels)
    shape = (height, width) if count is None else (height, width, count)
    dtype, fill = np.dtype(draw(st.sampled_from(DTYPES))), draw(st.sampled_from(FILLS))
    return make_array(shape, dtype, fill, draw(st.integers(0, 2**16)))


@st.composite
def images(draw):
    """An array the predictor documents that it takes: (H, W), (H, W, 1) or (H, W, 3), uint8 or float in [0, 1],
    with a synthetic face of a drawn size somewhere on a plain or noisy background (partly outside, at times)."""
    height, width = draw(st.tuples(st.integers(1, 400), st.integers(1, 400)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    canvas = np.full((height, width), draw(st.integers(0, 255)), np.float64)
    if draw(st.booleans()):
        canvas += rng.normal(0, draw(st.floats(0, 60)), canvas.shape)
    side = draw(st.integers(4, max(2 * max(height, width), 4)))
    x, y = draw(st.integers(-side // 2, width)), draw(st.integers(-side // 2, height))
    face = cv2.resize(FACE, (side, side), interpolation=cv2.INTER_AREA if side < 96 else cv2.INTER_LINEAR)
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + side, height), min(x + side, width)
    if bottom > top and right > left:
        canvas[top:bottom, left:right] = face[top - y : bottom - y, left - x : right - x]
    canvas = np.clip(canvas, 0, 255)
    count = draw(st.sampled_from([None, 1, 3]))
    if count is not None:
        canvas = np.repeat(canvas[:, :, None], count, axis=2)
    kind = draw(st.sampled_from(["uint8", "float32", "float64"]))
    return np.rint(canvas).astype(np.uint8) if kind == "uint8" else (canvas / 255).astype(kind)


FACE = generate_faces(1, seed=3)[0][0, 0]  # (96, 96) uint8, a synthetic face YuNet finds


def make_array(shape, dtype, fill, seed):
    rng = np.random.default_rng(seed)
    high = 1.0 if dtype.kind in "fb" else float(min(np.iinfo(dtype).max, 2**52))
    values = rng.uniform(0, high, shape)
    if fill == "face" and shape[0] and shape[1]:
        face = cv2.resize(FACE, (shape[1], shape[0]), interpolation=cv2.INTER_AREA) / 255.0 * high
        values = face.reshape(face.shape + (1,) * (len(shape) - 2)) * np.ones(shape)
    if fill == "zeros":
        values[...] = 0
    elif fill == "ones":
        values[...] = 1
    elif fill == "max":
        values[...] = high
    elif fill == "negative":
        values = -values - 1
    elif fill == "unit":
        values = rng.uniform(0, 1, shape)
    if dtype.kind == "f":
        array = values.astype(dtype)
        if fill in ("nan", "inf"):
            array[...] = np.nan if fill == "nan" else np.inf
        elif fill == "some nan" and array.size:
            array.flat[rng.integers(0, array.size)] = np.nan
        return array
    if dtype.kind == "b":
        return values > 0.5
    info = np.iinfo(dtype)
    return np.clip(np.rint(values), info.min, info.max).astype(dtype)


any_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 0.5, 1e-300, 1e300, 95.9, 96]),
)
near_the_image = st.one_of(st.floats(-100, 400), st.sampled_from([0.0, 0.4, 0.5, 1.0, 1e-9, 31.5, 64.0]))
boxes = st.lists(
    st.one_of(st.lists(any_number, min_size=4, max_size=4), st.lists(near_the_image, min_size=4, max_size=4)),
    min_size=0,
    max_size=3,
)


@pytest.fixture(scope="module")
def predict():
    return Predictor()


def check_faces(faces, image):
    """Faces of the documented shapes for an image of ``image.shape``."""
    assert isinstance(faces, Faces)
    count = len(faces)
    assert faces.keypoints.shape == (count, 15, 2) and np.isfinite(faces.keypoints).all()
    assert faces.boxes.shape == (count, 4) and faces.scores.shape == (count,)
    assert faces.errors_px.shape == (count,) and faces.keypoint_errors_px.shape == (count, 15)
    assert faces.poses.shape == (count, 3)
    assert faces.size == (image.shape[1], image.shape[0])
    picture = faces.draw()
    assert picture.shape[:2] == image.shape[:2] and picture.dtype == np.uint8


def check_image(predict, image, given_boxes=None):
    before = image.copy()
    with keypoints_error_or_result() as refused:
        faces = predict(image, boxes=given_boxes)
    if refused:
        assert isinstance(refused[0], (ImageError, BoxError))
    else:
        check_faces(faces, image)
    assert image.dtype == before.dtype and np.array_equal(image, before, equal_nan=image.dtype.kind == "f")


def accepted(image):
    """Whether the documentation promises a result for this array (else an ImageError)."""
    right_shape = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))
    if image.size == 0 or not right_shape:
        return False
    if image.dtype == np.uint8:
        return True
    return image.dtype.kind == "f" and bool(np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1)


@FAST
@given(image=arrays())
@example(image=np.zeros((1, 1, 3), np.uint8))
@example(image=np.zeros((2, 3), np.uint8))
@example(image=np.zeros((3000, 1, 3), np.float32))
@example(image=np.full((64, 64, 4), 255, np.uint8))
@example(image=np.full((17, 300, 1), 0.5, np.float16))
def test_the_predictor_on_any_array(predict, image):
    check_image(predict, image)
    with keypoints_error_or_result() as refused:
        predict(image)
    assert bool(refused) != accepted(image), (image.shape, image.dtype, refused)


@pytest.mark.slow
@LONG
@given(image=arrays())
def test_the_predictor_on_any_array_long(predict, image):
    check_image(predict, image)


def check_taken(predict, image):
    before = image.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        faces = predict(image)
    check_faces(faces, image)
    assert np.array_equal(image, before)
    return faces


@FAST
@given(image=images())
def test_the_predictor_gives_faces_for_every_image_it_takes(predict, image):
    check_taken(predict, image)


@pytest.mark.slow
@LONG
@given(image=images())
def test_the_predictor_gives_faces_for_every_image_it_takes_long(predict, image):
    check_taken(predict, image)


@FAST
@given(image=st.one_of(arrays(), images()), given_boxes=boxes)
@example(image=np.zeros((17, 300, 3), np.uint8), given_boxes=[[0, 0, 1, 1]])  # found: SQPnP asserted
@example(image=np.zeros((40, 40), np.uint8), given_boxes=[[1e300, 1e300, 1e300, 1e300]])
def test_the_predictor_with_boxes_of_any_value(predict, image, given_boxes):
    check_image(predict, image, given_boxes)


@pytest.mark.slow
@LONG
@given(image=st.one_of(arrays(), images()), given_boxes=boxes)
def test_the_predictor_with_boxes_of_any_value_long(predict, image, given_boxes):
    check_image(predict, image, given_boxes)


def test_a_box_at_the_edge_whose_crop_rounds_outside_the_image_is_cut_from_its_edge(predict):
    # found by the fuzzer: a half-pixel box astride the left edge gave a crop one pixel left of the image
    image = np.tile(np.arange(40, dtype=np.uint8) * 6, (40, 1))
    faces = predict(image, boxes=[[-0.4, 10, 0.5, 0.5]])
    assert faces.keypoints.shape == (1, 15, 2) and np.isfinite(faces.keypoints).all()
    square = cut_square(image, Crop(-3, 10, 2), 4)
    assert (square == image[10, 0]).all()  # the nearest edge pixel, as the parts outside any crop are


@pytest.mark.parametrize(
    ("box", "why"),
    [
        ([40, 0, 5, 5], "lies wholly outside the 40x30 image"),
        ([-5, 0, 5, 5], "lies wholly outside the 40x30 image"),
        ([0, 0, 1e300, 1e300], "is more than 2 times the 40x30 image's longer side"),
    ],
)
def test_boxes_outside_or_far_larger_than_the_image_are_refused(predict, box, why):
    with pytest.raises(BoxError) as refused:
        predict(np.zeros((30, 40), np.uint8), boxes=[[0, 0, 10, 10], box])
    assert str(refused.value) == f"boxes[1] = {[float(v) for v in box]} {why}; give boxes of faces in the image"
