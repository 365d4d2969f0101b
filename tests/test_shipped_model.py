"""The model that ships in keypoints/assets/default.pt: it loads, carries its card, and predicts."""

import numpy as np

from keypoints import paths
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces
from keypoints.model.checkpoint import load_model
from keypoints.model.inference import predict_pixels


def test_the_shipped_model_is_small_and_carries_its_model_card():
    assert paths.DEFAULT_MODEL.is_file(), "keypoints/assets/default.pt must ship with the project"
    assert paths.DEFAULT_MODEL.stat().st_size < 10 * 2**20
    card = load_model(paths.DEFAULT_MODEL).card
    for key in (
        "network",
        "data",
        "data_sha256",
        "split",
        "epochs",
        "best_valid_rmse_px",
        "command",
        "flip_mirror_sum_px",
    ):
        assert key in card, key
    assert card["network"] == "bnconv" and not card["synthetic_data"]
    assert "by person" in card["split"] and 0 < card["best_valid_rmse_px"] < 1.6


def test_the_shipped_model_predicts_every_keypoint_inside_the_face():
    model = load_model(paths.DEFAULT_MODEL)
    images, truth = generate_faces(8, seed=3)
    predicted = predict_pixels(model.module, images)
    assert predicted.shape == (8, 30) and np.isfinite(predicted).all()
    assert ((predicted > 0) & (predicted < 96)).all()
    column = {name: i for i, name in enumerate(model.columns)}
    # the subject's left eye is on the image's right, above the mouth
    assert (predicted[:, column["left_eye_center_x"]] > predicted[:, column["right_eye_center_x"]]).all()
    assert (predicted[:, column["left_eye_center_y"]] < predicted[:, column["mouth_center_bottom_lip_y"]]).all()
    assert tuple(model.columns) == KEYPOINT_COLUMNS
