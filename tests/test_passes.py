"""Passes that pay: YuNet's turned copies searched only when the upright one is not enough, and a photo's
faces and their mirror images in one network call."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from keypoints.measure.photos import rotate_onto_canvas
from keypoints.predict.detect import make_detector
from keypoints.predict.estimates import confidence
from keypoints.predict.options import PredictOptions
from keypoints.predict.photo.pipeline import detect_and_predict, load_predictor_model

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture(scope="module")
def model():
    return load_predictor_model()


@pytest.fixture(scope="module")
def hopper():
    return cv2.imread(str(SAMPLES / "grace_hopper.jpg"))


def test_an_upright_face_is_searched_on_the_upright_copy_alone(hopper):
    detector = make_detector("yunet")
    found = detector.detect(hopper)
    assert detector.searches == 1 and not found.all_turns and len(found) == 1
    every = make_detector("yunet", tilt_limit=None)
    everywhere = every.detect(hopper)
    assert every.searches == 3 and everywhere.all_turns
    # the three copies keep the same face: the upright copy's, best scored
    np.testing.assert_allclose(found.boxes, everywhere.boxes, atol=1e-9)
    np.testing.assert_allclose(found.landmarks, everywhere.landmarks, atol=1e-9)


def test_every_turn_on_request_and_on_a_photo_without_a_face(hopper):
    detector = make_detector("yunet")
    assert detector.detect(hopper, every_turn=True).all_turns and detector.searches == 3
    detector.searches = 0
    blank = detector.detect(np.full((480, 640, 3), 170, np.uint8))
    assert len(blank) == 0 and blank.all_turns and detector.searches == 3  # nothing upright: every copy


def test_a_face_tilted_past_the_limit_sends_the_search_to_the_turned_copies(hopper):
    image, _ = rotate_onto_canvas(hopper, np.zeros((15, 2)), 30)
    upright = make_detector("yunet", turns=(0.0,)).detect(image)
    right, left = upright.landmarks[0, :2]
    tilt = abs(np.degrees(np.arctan2(*(left - right)[::-1])))
    assert 8 < tilt < 20  # the upright copy's landmarks see 30 degrees as less (TILT_LIMIT 20 trusts them)
    trusting = make_detector("yunet")
    assert not trusting.detect(image).all_turns and trusting.searches == 1
    strict = make_detector("yunet", tilt_limit=tilt - 1)
    found = strict.detect(image)
    assert strict.searches == 3 and found.all_turns and len(found) == 1
    right, left = found.landmarks[0, :2]
    assert abs(np.degrees(np.arctan2(*(left - right)[::-1])) + 30) < 8  # counter-clockwise: eye line at -30


def test_a_doubtful_face_from_the_upright_copy_sends_the_photo_to_every_copy(model, hopper):
    image, _ = rotate_onto_canvas(hopper, np.zeros((15, 2)), 60)
    detector = make_detector("yunet")
    assert not detector.detect(image).all_turns  # the upright copy trusted its wrong landmarks
    detector.searches = 0
    detect_and_predict(image, model, detector, PredictOptions())
    assert detector.searches == 1 + 3  # the network's error estimate sent it back to every copy
    detector.searches = 0
    detect_and_predict(hopper, model, detector, PredictOptions())
    assert detector.searches == 1  # upright, well read: the upright copy alone


@pytest.mark.parametrize("degrees", [45, 60])
def test_faces_turned_45_and_60_degrees_are_found_with_their_eye_line(model, hopper, degrees):
    image, _ = rotate_onto_canvas(hopper, np.zeros((15, 2)), degrees)
    faces = detect_and_predict(image, model, make_detector("yunet"), PredictOptions())
    assert len(faces) == 1
    left, right = faces[0].keypoints[:2]  # left_eye_center, right_eye_center (the person's)
    assert abs(np.degrees(np.arctan2(*(left - right)[::-1])) + degrees) < 10


def test_haar_has_no_turned_copies_and_ignores_every_turn(hopper):
    found = make_detector("haar").detect(hopper, every_turn=True)
    assert found.all_turns and len(found) == 1


def test_a_photos_faces_and_their_mirrors_go_to_the_network_in_one_call(model, monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 1, 96, 96), dtype=np.uint8)
    calls = []
    real = confidence.predict_pixels

    def counting(module, batch, **kwargs):
        calls.append(len(batch))
        return real(module, batch, **kwargs)

    monkeypatch.setattr(confidence, "predict_pixels", counting)
    mirror_sum = model.card["flip_mirror_sum_px"]
    averaged, gap = confidence.predict_with_disagreement(model.module, images, model.columns, mirror_sum)
    assert calls == [6] and averaged.shape == (3, 30) and gap.shape == (3,)
    from keypoints.model.inference import predict_pixels_flip_averaged

    two_calls = predict_pixels_flip_averaged(model.module, images, model.columns, mirror_sum)
    np.testing.assert_allclose(averaged, two_calls, atol=1e-3)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_photo_on_its_side_or_upside_down_is_read_on_the_copy_that_has_it_upright(model, hopper, degrees):
    image, _ = rotate_onto_canvas(hopper, np.zeros((15, 2)), degrees)
    detector = make_detector("yunet")
    faces = detect_and_predict(image, model, detector, PredictOptions())
    assert len(faces) == 1
    left, right = faces[0].keypoints[:2]
    eye_line = np.degrees(np.arctan2(*(left - right)[::-1]))
    assert abs((eye_line + degrees + 180) % 360 - 180) < 10
    mouth, nose = faces[0].keypoints[14], faces[0].keypoints[10]  # mouth_center_bottom_lip, nose_tip
    assert np.linalg.norm(mouth - (left + right) / 2) > np.linalg.norm(nose - (left + right) / 2)
    # still doubtful after the copies turned 40 degrees (searched at once when the upright one found the face
    # tilted, else after it): the three copies turned a quarter and a half round searched too
    assert detector.searches in (3 + 3, 1 + 3 + 3)


def test_the_better_read_of_two_searches_is_kept_face_by_face():
    from keypoints.predict.detect import Detections
    from keypoints.predict.photo.pipeline import PhotoFace
    from keypoints.predict.photo.rereading import better_read, same_face

    def face(error, eyes=10.0, score=0.9):
        points = np.zeros((15, 2))
        points[1, 0] = eyes
        return PhotoFace((0, 0, 1, 1), None, points, score=score, error_px=error)

    boxes = np.array([[0, 0, 10, 10], [50, 50, 10, 10]], float)
    first = Detections(boxes, np.array([0.9, 0.8]), np.zeros((2, 5, 2)))
    other = Detections(boxes[::-1] + 1, np.array([0.85, 0.95]), np.ones((2, 5, 2)))
    firsts = [face(1.0, score=0.9), face(1.0, score=0.8)]
    found, faces = better_read(first, firsts, other, [face(0.5, score=0.85), face(2.0, score=0.95)])
    # face 0 is other's face 1 (scored higher, read worse); face 1 is other's face 0 (scored higher, read better)
    assert [f.error_px for f in faces] == [1.0, 0.5]
    np.testing.assert_array_equal(found.boxes, [boxes[0], boxes[1] + 1])
    np.testing.assert_array_equal(found.scores, [0.9, 0.85])
    np.testing.assert_array_equal(found.landmarks[:, 0, 0], [0.0, 1.0])
    assert same_face(boxes[0], boxes[0] + 4) and not same_face(boxes[0], boxes[1])
    # read better but scored lower, or a NaN estimate: never the better one
    one, other_one = first.take(np.array([0])), other.take(np.array([1]))
    for candidate in [face(0.5, score=0.7), face(np.nan, score=0.99)]:
        _, kept = better_read(one, [face(1.0, score=0.9)], other_one, [candidate])
        assert kept[0].error_px == 1.0


def test_the_turned_search_counts_the_mirror_line_in_full():
    from keypoints.predict.crops.align import AlignedCrop
    from keypoints.predict.estimates.confidence import estimate_error
    from keypoints.predict.photo.pipeline import TURN_ERROR, PhotoFace, worth_turning

    points = np.zeros((15, 2))
    points[1, 0] = 30.0  # eye distance 30 px
    crop = AlignedCrop(0.0, 0.0, 96.0, 0.0)
    calm = PhotoFace((0, 0, 1, 1), crop, points, error_px=1.0, disagreement=0.2)
    assert not worth_turning(calm)
    # the learned estimate says little, the mirror line says a lot: searched again
    parted = PhotoFace((0, 0, 1, 1), crop, points, error_px=1.0, disagreement=5.0)
    assert estimate_error(5.0, 96.0) > TURN_ERROR * 30 and worth_turning(parted)
    assert not worth_turning(PhotoFace((0, 0, 1, 1), crop, points, error_px=np.nan, disagreement=5.0))
