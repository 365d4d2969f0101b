"""``Predictor()(image)``: the Python one-liner on a path, arrays of every kind and a PIL image."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from keypoints.errors import ImageError, KeypointsError
from keypoints.predictor import Predictor, card_warnings

PHOTO = Path(__file__).resolve().parent.parent / "data" / "samples" / "grace_hopper.jpg"


@pytest.fixture(scope="module")
def predict():
    return Predictor()


@pytest.fixture(scope="module")
def from_path(predict):
    return predict(PHOTO)


def test_a_path_gives_boxes_keypoints_and_scores_in_image_pixels(from_path):
    assert len(from_path) == 1
    assert (
        from_path.boxes.shape == (1, 4) and from_path.keypoints.shape == (1, 15, 2) and from_path.scores.shape == (1,)
    )
    x, y, w, h = from_path.boxes[0]
    points = from_path.keypoints[0]
    assert (points[:, 0] > x).all() and (points[:, 0] < x + w).all()
    assert (points[:, 1] > y).all() and (points[:, 1] < y + h).all()
    names = list(from_path.names)
    # the subject's left eye is on the image's right, and above the mouth
    assert points[names.index("left_eye_center"), 0] > points[names.index("right_eye_center"), 0]
    assert points[names.index("left_eye_center"), 1] < points[names.index("mouth_center_bottom_lip"), 1]


def test_an_rgb_array_gives_what_the_file_gives_and_is_not_changed(predict, from_path):
    rgb = cv2.imread(str(PHOTO))[:, :, ::-1].copy()
    before = rgb.copy()
    faces = predict(rgb)
    np.testing.assert_array_equal(faces.boxes, from_path.boxes)
    np.testing.assert_allclose(faces.keypoints, from_path.keypoints, atol=1e-9)
    np.testing.assert_array_equal(rgb, before)
    drawn = faces.draw()
    np.testing.assert_array_equal(rgb, before)  # draw() works on a copy
    assert drawn.shape == rgb.shape and 0.001 < (drawn != rgb).any(axis=2).mean() < 0.2
    x, y = np.rint(faces.keypoints[0, 0]).astype(int)  # left eye centre: drawn in light blue, RGB order
    assert drawn[y, x, 2] > 200 and drawn[y, x, 0] < 100


def test_bgr_order_is_said_with_channels(predict, from_path):
    bgr = cv2.imread(str(PHOTO))
    np.testing.assert_allclose(predict(bgr, channels="bgr").keypoints, from_path.keypoints, atol=1e-9)
    with pytest.raises(ImageError, match="channels='BGR': say 'rgb'"):
        predict(bgr, channels="BGR")


def test_a_gray_array_and_a_float_array_find_the_same_face(predict, from_path):
    bgr = cv2.imread(str(PHOTO))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    as_gray = predict(np.repeat(gray[:, :, None], 3, axis=2))  # YuNet reads colour: gray is its own input
    rgb = bgr[:, :, ::-1] / 255.0
    for image, expected in (
        (gray, as_gray),
        (gray[:, :, None], as_gray),
        (rgb, from_path),
        (rgb.astype(np.float32), from_path),
    ):
        faces = predict(image)
        np.testing.assert_array_equal(faces.boxes, expected.boxes)
        assert np.abs(faces.keypoints - expected.keypoints).max() < 0.5
    assert len(as_gray.boxes) == len(from_path.boxes) == 1
    assert np.abs(as_gray.keypoints - from_path.keypoints).max() < 3  # the same face, without its colour


def test_a_pil_image_works(predict, from_path):
    image = pytest.importorskip("PIL.Image").open(PHOTO)
    np.testing.assert_allclose(predict(image).keypoints, from_path.keypoints, atol=1e-9)


@pytest.mark.parametrize(
    "image, message",
    [
        (
            np.zeros((10, 10, 4)),
            "an array of shape (10, 10, 4) and dtype float64: expected (H, W) gray or (H, W, 3) "
            "colour pixels; drop the alpha channel first (image[..., :3])",
        ),
        (np.zeros((0, 5, 3), np.uint8), "an array of shape (0, 5, 3) and dtype uint8 is empty: it holds no pixels"),
        (np.full((8, 8, 3), 255.0), "has values from 255 to 255: float pixels must lie in [0, 1] (divide by 255"),
        (np.zeros((8, 8), np.uint16), "dtype uint16: pass uint8 pixels (0-255) or float pixels in [0, 1]"),
        ([[0, 1]], "an image of type list: pass a file path, a NumPy array or a PIL image"),
    ],
)
def test_a_wrong_input_gets_a_clear_error(predict, image, message):
    with pytest.raises(KeypointsError) as caught:
        predict(image)
    assert message in str(caught.value)


def test_a_missing_file_names_it(predict, tmp_path):
    with pytest.raises(ImageError, match="gone.jpg"):
        predict(tmp_path / "gone.jpg")


def test_card_warnings_name_synthetic_data_and_a_model_no_better_than_the_mean():
    assert card_warnings({"synthetic_data": False, "best_valid_rmse_px": 1.47, "mean_baseline_rmse_px": 3.77}) == []
    assert card_warnings({"best_valid_rmse_px": 1.47}) == []  # an older card without the baseline
    (synthetic,) = card_warnings({"synthetic_data": True}, "m.pt")
    assert synthetic.startswith("m.pt was trained on synthetic faces")
    (no_better,) = card_warnings({"best_valid_rmse_px": 4.0, "mean_baseline_rmse_px": 3.77}, "m.pt")
    assert "4.00 px, is no better than predicting the training mean (3.77 px)" in no_better


def test_the_shipped_model_warns_of_nothing(predict):
    assert card_warnings(predict.model.card) == []


def test_import_keypoints_stays_light_and_predictor_is_exported_lazily():
    code = (
        "import sys, keypoints, keypoints.predictor; print('torch' in sys.modules); "
        "print(keypoints.Predictor is keypoints.predictor.Predictor); keypoints.Predictor(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "False"]  # not even a Predictor imports torch: it runs the ONNX model
    with pytest.raises(AttributeError, match="module 'keypoints' has no attribute 'Predicter'"):
        import keypoints

        keypoints.Predicter  # noqa: B018


def test_the_default_runs_onnx_and_a_device_runs_the_torch_network_there(from_path):
    import torch

    from keypoints import paths
    from keypoints.errors import ModelFileError
    from keypoints.model.onnx_model import OnnxNetwork

    assert isinstance(Predictor().model.module, OnnxNetwork)
    on_cpu = Predictor(device="cpu")
    assert isinstance(on_cpu.model.module, torch.nn.Module) and on_cpu.model.path == paths.DEFAULT_MODEL
    assert {p.device.type for p in on_cpu.model.module.parameters()} == {"cpu"}
    # the same network by two runtimes: the keypoints agree to a few thousandths of a pixel
    assert np.abs(on_cpu(PHOTO).keypoints - from_path.keypoints).max() < 0.05
    with pytest.raises(ModelFileError, match="an ONNX model runs on the CPU; for device='cuda' pass the .pt file"):
        Predictor(model=paths.PREDICTOR_MODEL, device="cuda")


def test_a_torch_network_is_run_on_its_own_device_unless_told(monkeypatch):
    import torch

    from keypoints.model import inference

    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    seen = []
    monkeypatch.setattr(inference, "forward_pixels", lambda m, batch: seen.append(batch.device) or m(batch / 255.0))
    inference.predict_pixels(module, np.zeros((3, 1, 2, 2), np.uint8))
    inference.predict_pixels(module, np.zeros((3, 1, 2, 2), np.uint8), device="cpu")
    assert seen == [torch.device("cpu")] * 2
