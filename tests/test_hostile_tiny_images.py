"""Images of a few pixels give no faces, never a builtin error or a warning; the detector never hands back NaN."""

import warnings

import numpy as np
import pytest

from keypoints import Predictor
from keypoints.predict.detect import make_detector, yunet
from keypoints.predict.estimates.pose import head_pose

TINY_SHAPES = [(1, 1), (2, 3), (5, 5), (10, 1), (1, 10), (3, 3), (16, 16), (31, 31), (4, 200), (200, 4), (20, 640)]
"""(height, width): under 32 px a side (YuNet's coarsest stride) OpenCV's YuNet can answer with leftover memory."""


@pytest.fixture(scope="module")
def predict():
    return Predictor()


class LeftoverMemory:
    """Stands in for ``cv2.FaceDetectorYN``: answers every search with the rows OpenCV gave on a 2x3 photo."""

    def __init__(self):
        self.searched = []

    def setInputSize(self, size):  # noqa: N802 (OpenCV's name)
        self.size = size

    def detect(self, image):
        self.searched.append(image.shape)
        rows = np.zeros((3, 15), np.float32)
        rows[0, :4] = [np.nan, np.nan, np.inf, 0.0]
        rows[1, :4] = [-1.2e19, -4.9e18, 0.0, 0.0]
        rows[2, :4] = [3.7e10, -np.inf, 0.0, np.inf]
        rows[:, 14] = 1.0
        return 1, rows


def test_tiny_images_give_no_faces_on_every_run_without_a_warning(predict):
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(6):  # OpenCV's leftover memory depends on what it searched before
            predict(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
            for shape in TINY_SHAPES:
                for channels in [(), (1,), (3,)]:
                    faces = predict(rng.integers(0, 256, shape + channels, dtype=np.uint8))
                    assert len(faces) == 0 and faces.keypoints.shape == (0, 15, 2)


def test_a_list_of_tiny_images_gives_an_empty_faces_each(predict):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = predict([np.zeros(shape + (3,), np.uint8) for shape in TINY_SHAPES])
    assert [len(faces) for faces in found] == [0] * len(TINY_SHAPES)


def test_yunet_drops_rows_that_are_not_finite_or_of_no_size():
    detector = make_detector("yunet")
    detector.net = LeftoverMemory()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = detector.detect(np.zeros((240, 320, 3), np.uint8), keep_low_score=True, every_turn=True)
    assert len(found) == 0 and detector.net.searched  # searched, and every row dropped


def test_yunet_does_not_search_a_copy_under_its_smallest_side():
    detector = make_detector("yunet")
    detector.net = LeftoverMemory()
    for height, width in TINY_SHAPES:
        assert len(detector.detect(np.zeros((height, width, 3), np.uint8), keep_low_score=True)) == 0
    assert detector.net.searched == []
    # a photo enlarged to the smallest side is searched
    side = yunet.MIN_SEARCH_SIDE // 2
    detector.detect(np.zeros((side, side, 3), np.uint8))
    assert detector.net.searched == [(yunet.MIN_SEARCH_SIDE, yunet.MIN_SEARCH_SIDE, 3)] * len(detector.turns)


@pytest.mark.parametrize("shape", [(1, 1), (17, 300), (300, 17), (5, 5)])
def test_a_box_of_one_pixel_on_a_tiny_image_gives_a_face_and_no_error(predict, shape):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        faces = predict(np.zeros(shape + (3,), np.uint8), boxes=[[0, 0, 1, 1]])
        faces.draw()
    assert faces.keypoints.shape == (1, 15, 2) and np.isfinite(faces.keypoints).all()


def test_keypoints_on_one_point_have_no_pose():
    assert np.isnan(head_pose(np.full((15, 2), 3.0), (300, 17))).all()
