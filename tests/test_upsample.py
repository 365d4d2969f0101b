"""``--upsample N``: an enlarged copy is searched, so faces too small for the usual search are found, their boxes
mapped back to the photo."""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints.cli import main
from keypoints.errors import DetectorError
from keypoints.predict.detect import make_detector
from keypoints.predictor import Predictor

PHOTO = Path(__file__).resolve().parent.parent / "data" / "samples" / "grace_hopper.jpg"
EYES = 89.3  # Grace Hopper's predicted eye distance in the sample, px
FACE_PX = 18  # 2 x the eye distance after shrinking: about YuNet's box width


@pytest.fixture(scope="module")
def small_face():
    """The sample shrunk to an 18-px face, in a grey 1280x960 photo, and where its face's centre is."""
    scale = FACE_PX / (2 * EYES)
    small = cv2.resize(cv2.imread(str(PHOTO)), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    photo = np.full((960, 1280, 3), 128, np.uint8)
    photo[400 : 400 + small.shape[0], 600 : 600 + small.shape[1]] = small
    return photo, np.array([600 + 26.6, 400 + 21.1])


def test_an_18_px_face_is_found_only_in_the_enlarged_copy_and_its_box_is_mapped_back(small_face):
    photo, centre = small_face
    assert len(make_detector("yunet").detect(photo)) == 0  # the usual 640-px copy makes it 9 px
    for n in (2, 3):
        found = make_detector("yunet", upsample=n).detect(photo)
        assert len(found) == 1, n
        x, y, w, h = found.boxes[0]
        assert x <= centre[0] <= x + w and y <= centre[1] <= y + h
        assert 0.8 * FACE_PX <= w <= 1.3 * FACE_PX  # photo pixels, not the copy's
        assert np.linalg.norm(found.landmarks[0, :2].mean(axis=0) - centre) < FACE_PX / 2


def test_the_predictor_takes_upsample_and_puts_the_keypoints_on_the_small_face(small_face):
    photo, centre = small_face
    faces = Predictor(upsample=3)(photo, channels="bgr")
    assert len(faces) == 1
    assert np.linalg.norm(faces.keypoints[0].mean(axis=0) - centre) < 3
    assert 0.5 * FACE_PX / 2 < faces[0].eye_distance_px < 1.5 * FACE_PX / 2
    with pytest.raises(DetectorError, match=r"upsample= makes the default detector: give it to make_detector"):
        Predictor(detector=make_detector(), upsample=2)


@pytest.mark.parametrize("value", [0, 9, 1.5, True, "2"])
def test_upsample_outside_1_to_8_is_refused(value):
    with pytest.raises(DetectorError, match=rf"upsample must be a whole number from 1 to 8, got {value!r}"):
        make_detector("yunet", upsample=value)
    with pytest.raises(DetectorError, match="upsample must be a whole number"):
        make_detector("haar", upsample=value)


def test_the_haar_search_is_enlarged_too():
    haar = make_detector("haar", upsample=2)
    assert haar.side == 2 * make_detector("haar").side and haar.min_face == make_detector("haar").min_face / 2


def test_the_command_line_passes_upsample_through(small_face, tmp_path):
    photo, _ = small_face
    cv2.imwrite(str(tmp_path / "small.png"), photo)
    for n, faces in ((1, 0), (3, 1)):
        out = tmp_path / f"out{n}"
        assert main(["predict", str(tmp_path / "small.png"), "--out", str(out), "--upsample", str(n)]) == 0
        assert len(pd.read_csv(out / "keypoints.csv")) == faces
