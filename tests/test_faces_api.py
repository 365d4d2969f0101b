"""The Python API as peers' users expect it: faces to loop over and index, a short repr, batches, your own boxes."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from keypoints.errors import BoxError, ImageError
from keypoints.faces import Face, Faces
from keypoints.predict.crops.crop import crop_for_box
from keypoints.predict.photo import pipeline
from keypoints.predictor import Predictor

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture(scope="module")
def predict():
    return Predictor()


@pytest.fixture(scope="module")
def hopper():
    return cv2.imread(str(SAMPLES / "grace_hopper.jpg"))


@pytest.fixture(scope="module")
def astronaut():
    return cv2.imread(str(SAMPLES / "astronaut.png"))


@pytest.fixture(scope="module")
def found(predict, hopper):
    return predict(hopper, channels="bgr")


def test_faces_can_be_looped_over_and_indexed_and_each_item_is_a_face_record(found):
    (face,) = list(found)
    assert isinstance(face, Face) and isinstance(found[0], Face) and isinstance(found[-1], Face)
    np.testing.assert_array_equal(face.box, found.boxes[0])
    np.testing.assert_array_equal(face.keypoints, found.keypoints[0])
    assert face.keypoints.shape == (15, 2) and face.keypoint_errors_px.shape == (15,) and face.pose.shape == (3,)
    assert face.score == found.scores[0] and 0.5 < face.score <= 1
    assert face.error_px == found.errors_px[0] and 0 < face.error_px < 0.1 * face.eye_distance_px
    assert (face.yaw, face.pitch, face.roll) == tuple(found.poses[0])
    with pytest.raises(IndexError, match="face 1 of 1: the image has faces 0 to 0"):
        found[1]
    assert len(found[:0]) == 0 and isinstance(found[:1], Faces) and found[:1].size == found.size


def test_the_arrays_have_one_row_per_face(found):
    n = len(found)
    assert found.boxes.shape == (n, 4) and found.scores.shape == (n,) and found.keypoints.shape == (n, 15, 2)
    assert found.errors_px.shape == (n,) and found.keypoint_errors_px.shape == (n, 15) and found.poses.shape == (n, 3)
    assert found.size == (512, 600)


def test_the_repr_is_short_and_shows_no_pixels(found):
    text = repr(found)
    assert text.startswith("Faces(1 face in a 512x600 image:\n  Face(box=(")
    assert "score=0.9" in text and "error_px=" in text and "yaw=" in text and "roll=" in text
    assert len(text) < 200 and "array" not in text and "dtype" not in text
    assert repr(found[:0]) == "Faces(0 faces in a 512x600 image)"
    assert str(found[0]) == repr(found[0]) and repr(found[0]).startswith("Face(box=(")


def test_a_list_of_images_gives_a_list_of_faces_as_one_by_one(predict, hopper, astronaut, monkeypatch):
    alone = [predict(image, channels="bgr") for image in (hopper, astronaut)]
    batches = []
    real = pipeline.predict_with_disagreement

    def counted(module, images, *args, **kwargs):
        batches.append(len(images))
        return real(module, images, *args, **kwargs)

    monkeypatch.setattr(pipeline, "predict_with_disagreement", counted)
    together = predict([hopper, astronaut], channels="bgr")
    # one batch per pass holding both images' faces, not one per image
    assert batches == [2] * (pipeline.REFINE_STEPS + 1)
    assert isinstance(together, list) and len(together) == 2
    for one, other in zip(alone, together):
        np.testing.assert_array_equal(one.boxes, other.boxes)
        np.testing.assert_allclose(one.keypoints, other.keypoints, atol=0.01)  # float32 sums in another batch
        np.testing.assert_allclose(one.errors_px, other.errors_px, atol=0.01)
    assert predict([], channels="bgr") == []


def test_the_per_keypoint_error_estimate_averages_to_the_face_s(found):
    np.testing.assert_allclose(found.keypoint_errors_px.mean(axis=1), found.errors_px, rtol=1e-9)
    assert (found.keypoint_errors_px > 0).all() and found.keypoint_errors_px.std() > 0.1  # keypoints differ


def test_a_bad_image_in_a_list_is_named_by_its_place(predict, hopper):
    with pytest.raises(ImageError, match=r"^image 1 of 2: an array of shape \(0, 5, 3\) and dtype uint8 is empty"):
        predict([hopper, np.zeros((0, 5, 3), np.uint8)], channels="bgr")


def test_your_own_boxes_skip_detection_and_are_framed_as_the_haar_boxes(predict, hopper, found):
    x, y, w, h = found.boxes[0]
    mine = predict(hopper, channels="bgr", boxes=[[x, y, w, h], [10, 10, 60, 60]])
    assert len(mine) == 2 and np.isnan(mine.scores).all()  # the caller's order, no detector score
    np.testing.assert_array_equal(mine.boxes[0], [x, y, w, h])
    # the same face, framed from its box instead of YuNet's landmarks: keypoints within a few pixels
    assert np.abs(mine.keypoints[0] - found.keypoints[0]).max() < 0.06 * w
    haar = predict(hopper, channels="bgr", boxes=np.array([x, y, w, h]))  # one box as a flat (4,)
    np.testing.assert_allclose(haar.keypoints[0], mine.keypoints[0], atol=1e-6)
    first = crop_for_box((x, y, w, h))
    assert first.side == round(1.08 * w)  # CROP_SCALE: the Haar framing
    assert len(predict(hopper, channels="bgr", boxes=np.zeros((0, 4)))) == 0


def test_boxes_for_a_list_come_one_array_per_image(predict, hopper, found):
    many = predict([hopper, hopper], channels="bgr", boxes=[found.boxes, np.zeros((0, 4))])
    assert [len(f) for f in many] == [1, 0]
    with pytest.raises(BoxError, match="boxes: give one \\(N, 4\\) array per image, a list of 2; got 1"):
        predict([hopper, hopper], channels="bgr", boxes=[found.boxes])


@pytest.mark.parametrize(
    "boxes, message",
    [
        ([[1, 2, 3]], r"boxes: expected shape \(N, 4\), x, y, w, h per face; got shape \(1, 3\)"),
        ([[1, 2, np.nan, 4]], "boxes: holds NaN or infinite values; every box needs finite x, y, w, h"),
        ([[0, 0, 10, 10], [5, 5, 0, 9]], r"boxes\[1\] = \[5.0, 5.0, 0.0, 9.0\]: width and height must be positive"),
        ([["a", 1, 2, 3]], "boxes: expected numbers x, y, w, h per face, got list"),
    ],
)
def test_wrong_boxes_get_a_clear_error(predict, hopper, boxes, message):
    with pytest.raises(BoxError, match=f"^{message}"):
        predict(hopper, channels="bgr", boxes=boxes)
