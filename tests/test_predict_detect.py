"""Face detectors (YuNet, Haar), the shipped YuNet file's check, upright alignment and the keypoint confidence."""

import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints.errors import DetectorError, DetectorFileError, KeypointsError, ModelFileError
from keypoints.predict.crops.align import (
    LANDMARK_TEMPLATE,
    AlignedCrop,
    aligned_to_photo,
    crop_for_landmarks,
    cut_aligned,
    photo_to_aligned,
    reframe_on_keypoints,
)
from keypoints.predict.crops.crop import MEAN_KEYPOINTS
from keypoints.predict.detect import Detections, FaceDetector, YuNetDetector, make_detector
from keypoints.predict.detect.yunet import MODEL_FILE, model_path

SAMPLES = "data/samples"

SAMPLE_FACES = {"astronaut.png": (225, 120), "camera.png": (228, 150), "grace_hopper.jpg": (266, 225)}
"""A point on the one real face of each sample photo (x, y), read off the photos by eye."""


@pytest.fixture(scope="module")
def yunet():
    return make_detector("yunet")


def _turn(points, degrees, scale, shift):
    """Points (..., 2) turned by ``degrees`` (y down), scaled and shifted."""
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.asarray(points) @ rot.T * scale + np.asarray(shift)


def test_a_photo_face_pasted_into_a_larger_picture_is_found_with_a_score(yunet):
    face = cv2.imread(f"{SAMPLES}/grace_hopper.jpg")
    canvas = np.full((900, 1200, 3), 90, np.uint8)
    small = cv2.resize(face, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # a 300x256 copy
    canvas[500:800, 700:956] = small
    found = yunet.detect(canvas)
    assert isinstance(found, Detections) and len(found) == 1
    x, y, w, h = found.boxes[0]
    centre = np.array(SAMPLE_FACES["grace_hopper.jpg"]) / 2 + (700, 500)
    assert x < centre[0] < x + w and y < centre[1] < y + h
    assert 60 < w < 120  # the face is about 88 px wide at half size
    assert 0.7 < found.scores[0] <= 1.0
    assert found.landmarks.shape == (1, 5, 2)
    right_eye, left_eye = found.landmarks[0, :2]
    assert right_eye[0] < left_eye[0] and abs(right_eye[1] - left_eye[1]) < 5  # the person's right eye on the left


@pytest.mark.parametrize("name", ["yunet", "haar"])
def test_a_blank_picture_has_no_face(name):
    found = make_detector(name).detect(np.full((480, 640, 3), 170, np.uint8))
    assert len(found) == 0 and found.boxes.shape == (0, 4) and found.scores.shape == (0,)


def test_haar_gives_boxes_without_scores_or_landmarks():
    found = make_detector("haar").detect(cv2.imread(f"{SAMPLES}/grace_hopper.jpg"))
    assert len(found) == 1 and np.isnan(found.scores).all() and found.landmarks is None


def test_an_unknown_detector_is_refused():
    with pytest.raises(DetectorError, match="unknown detector 'dlib'; use one of yunet, haar"):
        make_detector("dlib")


class ThreeFaces(FaceDetector):
    """Three faces scored 0.9, 0.5 and not at all, whatever the photo."""

    name = "three"

    def __init__(self, min_score):
        self.min_score = min_score

    def find(self, image):
        return Detections(
            np.array([[0, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10]], float), np.array([0.9, 0.5, np.nan])
        )


def test_every_detector_applies_its_own_min_score():
    image = np.zeros((10, 60), np.uint8)
    found = ThreeFaces(0.7).detect(image)
    assert found.boxes[:, 0].tolist() == [0, 40] and found.low.tolist() == [False, False]  # no score: not low
    kept = ThreeFaces(0.7).detect(image, keep_low_score=True)
    assert kept.boxes[:, 0].tolist() == [0, 20, 40] and kept.low.tolist() == [False, True, False]
    assert kept.take([1]).low.tolist() == [True]
    assert len(ThreeFaces(None).detect(image)) == 3 and not ThreeFaces(None).detect(image).low.any()


def test_the_detectors_errors_are_the_packages():
    assert issubclass(DetectorError, KeypointsError) and issubclass(DetectorFileError, ModelFileError)
    with pytest.raises(DetectorError, match=r"YuNet's min_score must be within \[0, 1\], got 1.5"):
        make_detector("yunet", min_score=1.5)


def test_a_tampered_yunet_file_is_refused_by_name(tmp_path):
    with model_path() as shipped:
        copy = tmp_path / MODEL_FILE
        shutil.copyfile(shipped, copy)
    assert YuNetDetector(path=copy).min_score == pytest.approx(0.7)  # an exact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(DetectorFileError, match=r"SHA-256 is [0-9a-f]{16}\.\.\., not YuNet's 8f2383e4dd3cfbb4") as err:
        YuNetDetector(path=copy)
    assert str(copy) in str(err.value) and "git checkout keypoints/assets/yunet/" in str(err.value)
    with pytest.raises(DetectorFileError, match="YuNet's model file is missing"):
        YuNetDetector(path=tmp_path / "gone.onnx")


def test_alignment_round_trip_is_exact_on_a_known_turn_scale_and_shift():
    crop = AlignedCrop(cx=412.25, cy=-37.5, side=173.0, angle=np.radians(37.0))
    points = np.random.default_rng(0).uniform(-500, 900, size=(40, 2))
    np.testing.assert_allclose(aligned_to_photo(photo_to_aligned(points, crop), crop), points, atol=1e-9)
    # the crop's centre pixel (47.5, 47.5) is the crop's centre; one crop pixel is side / 96 photo pixels
    np.testing.assert_allclose(aligned_to_photo([47.5, 47.5], crop), [412.25, -37.5], atol=1e-12)
    step = aligned_to_photo([48.5, 47.5], crop) - aligned_to_photo([47.5, 47.5], crop)
    np.testing.assert_allclose(step, 173.0 / 96 * np.array([np.cos(np.radians(37)), np.sin(np.radians(37))]))


@pytest.mark.parametrize("degrees", [0.0, 25.0, -50.0])
def test_landmarks_turned_scaled_and_shifted_give_back_that_transform(degrees):
    landmarks = _turn(LANDMARK_TEMPLATE - 47.5, degrees, 2.5, (300.0, 200.0))
    crop = crop_for_landmarks(landmarks)
    assert np.degrees(crop.angle) == pytest.approx(degrees + np.degrees(np.arctan2(-0.36, 31.45)), abs=1e-6)
    assert crop.side == pytest.approx(96 * 2.5, rel=0.01)
    # mapped into the crop, the landmarks sit on the template
    np.testing.assert_allclose(photo_to_aligned(landmarks, crop), LANDMARK_TEMPLATE, atol=0.3)
    # re-framing on keypoints keeps the angle and finds the square that put them on the training mean
    keypoints = aligned_to_photo(MEAN_KEYPOINTS, crop)
    again = reframe_on_keypoints(keypoints, crop)
    np.testing.assert_allclose(again, crop, atol=1e-9)


def test_a_spot_in_the_photo_lands_where_the_aligned_crop_says():
    photo = np.zeros((400, 500), np.uint8)
    spot = np.array([260.0, 180.0])
    cv2.circle(photo, tuple(int(v) for v in spot), 4, 255, -1)
    for side in (60.0, 250.0):  # enlarged and reduced
        crop = AlignedCrop(250.0, 190.0, side, np.radians(-30.0))
        face = cut_aligned(photo, [crop])[0, 0].astype(np.float64)
        ys, xs = np.nonzero(face > 0.5 * face.max())
        centre = np.array([np.average(xs, weights=face[ys, xs]), np.average(ys, weights=face[ys, xs])])
        np.testing.assert_allclose(centre, photo_to_aligned(spot, crop), atol=0.35)


@pytest.mark.parametrize("name", sorted(SAMPLE_FACES))
def test_each_sample_photo_gives_its_one_real_face(name, yunet):
    kept = yunet.detect(cv2.imread(f"{SAMPLES}/{name}"))  # YuNet leaves out the faces under its min_score
    assert (kept.scores >= yunet.min_score).all() and not kept.low.any()
    assert len(kept) == 1, f"{name}: {kept.boxes.round().tolist()} scored {kept.scores.round(2).tolist()}"
    x, y, w, h = kept.boxes[0]
    px, py = SAMPLE_FACES[name]
    assert x < px < x + w and y < py < y + h


@pytest.mark.slow
def test_samples_give_three_faces_with_confidence_columns_in_the_csv(tmp_path):
    from keypoints import paths
    from keypoints.cli import main

    if not paths.DEFAULT_MODEL.is_file():
        pytest.skip(f"{paths.DEFAULT_MODEL} is missing (git checkout keypoints/assets/default.pt)")
    assert main(["predict", SAMPLES, "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "keypoints.csv")
    assert list(table.columns[2:8]) == ["box_x", "box_y", "box_w", "box_h", "score", "error_px"]
    assert sorted(table["file"].map(lambda f: f.rsplit("/", 1)[-1])) == sorted(SAMPLE_FACES)
    assert (table["score"] >= 0.7).all() and (table["score"] <= 1).all()
    # the estimate is a few pixels: within 0.5-10 % of the face's box
    assert ((table["error_px"] > 0.005 * table["box_w"]) & (table["error_px"] < 0.1 * table["box_w"])).all()
    for _, row in table.iterrows():
        px, py = SAMPLE_FACES[row["file"].rsplit("/", 1)[-1]]
        assert row["box_x"] < px < row["box_x"] + row["box_w"] and row["box_y"] < py < row["box_y"] + row["box_h"]


def test_min_score_outside_0_to_1_is_refused_by_the_command_line(capsys):
    from keypoints.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["predict", SAMPLES, "--min-score", "1.5"])
    assert exit_.value.code == 2
    assert "argument --min-score: '1.5' is not a fraction from 0 to 1" in capsys.readouterr().err


def test_low_scored_faces_are_left_out_unless_asked_for(tmp_path):
    from keypoints import paths
    from keypoints.predict import load_predictor_model, predict_file
    from keypoints.predict.options import PredictOptions

    if not paths.DEFAULT_MODEL.is_file():
        pytest.skip(f"{paths.DEFAULT_MODEL} is missing (git checkout keypoints/assets/default.pt)")
    model = load_predictor_model()
    strict = make_detector("yunet", min_score=0.99)  # the camera sample's face scores 0.88
    assert predict_file(f"{SAMPLES}/camera.png", model, strict, draw=False).faces == []
    kept = predict_file(f"{SAMPLES}/camera.png", model, strict, options=PredictOptions(keep_low_score=True)).faces
    assert len(kept) == 1 and kept[0].low_score and kept[0].doubtful and 0.8 < kept[0].score < 0.99
    assert np.isfinite(kept[0].error_px) and kept[0].error_px > 0


def test_a_doubtful_face_is_drawn_dashed_red_with_its_reason():
    from keypoints.predict.outputs.draw import BOX_COLOUR, DOUBT_COLOUR, draw_faces

    points = np.full((1, 15, 2), np.nan)
    image = draw_faces(np.zeros((300, 400, 3), np.uint8), [[100, 100, 120, 120]], points, ["score 0.52"])
    edge = image[219, 100:220]  # the bottom edge: dashes, so red and black alternate along it
    red = (np.abs(edge.astype(int) - DOUBT_COLOUR).sum(axis=1) < 60).mean()
    assert 0.3 < red < 0.8
    assert not (image == BOX_COLOUR).all(axis=2).any()
    assert (np.abs(image[70:100, 100:220].astype(int) - DOUBT_COLOUR).sum(axis=2) < 60).sum() > 200  # the label
    plain = draw_faces(np.zeros((300, 400, 3), np.uint8), [[100, 100, 120, 120]], points)
    assert (plain[219, 100:220] == BOX_COLOUR).all()


def test_landmarks_upside_down_about_their_eye_line_give_the_same_cut_with_a_positive_side():
    from keypoints.predict.crops.align import _fit_scale_shift, _rotation, eye_angle

    marks = LANDMARK_TEMPLATE + 100.0
    middle = marks[:2].mean(axis=0)
    marks[2:] = 2 * middle - marks[2:]  # nose and mouth turned half a turn about the eyes, the eyes as they were
    angle = eye_angle(marks)
    scale, centre = _fit_scale_shift(marks @ _rotation(-angle).T, LANDMARK_TEMPLATE)
    assert scale < 0  # the fit alone: a negative side
    cx, cy = _rotation(angle) @ centre
    as_fitted = AlignedCrop(cx, cy, 96 / scale, angle)
    crop = crop_for_landmarks(marks)
    assert crop.side == pytest.approx(-96 / scale) and crop.side > 0
    assert abs(crop.angle) <= np.pi and (crop.cx, crop.cy) == pytest.approx((cx, cy))
    np.testing.assert_allclose(photo_to_aligned(marks, crop), photo_to_aligned(marks, as_fitted), atol=1e-9)
