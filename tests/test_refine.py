"""`--refine`: keypoints averaged over the fully-convolutional windows around a face's crop; photos in `explain`."""

from pathlib import Path

import numpy as np
import pytest
import torch

from keypoints.cli import main
from keypoints.data.synthetic import generate_faces
from keypoints.errors import ConversionError
from keypoints.model.checkpoint import save_model
from keypoints.model.inference import predict_pixels
from keypoints.networks import build_network
from keypoints.predict.crops.crop import Crop, cut_faces, cut_square, to_photo
from keypoints.predict.photo.refine import fully_convolutional_model, refine_keypoints


@pytest.fixture(scope="module")
def conv_model(tmp_path_factory):
    torch.manual_seed(0)
    module = build_network("conv")
    with torch.no_grad():
        module.dense3.weight.mul_(20)  # outputs that vary with the input, so the averages mean something
    path = save_model(tmp_path_factory.mktemp("refine") / "conv.pt", "conv", module, {})
    from keypoints.model.checkpoint import load_model

    return load_model(path)


@pytest.fixture(scope="module")
def photo():
    """A gray 'photo': a synthetic face scaled to 150 px, placed in noise, and the face's square."""
    import cv2

    face, _ = generate_faces(1, seed=4)
    canvas = np.random.default_rng(1).integers(0, 256, (260, 300), dtype=np.uint8)
    canvas[60:210, 70:220] = cv2.resize(face[0, 0], (150, 150), interpolation=cv2.INTER_LINEAR)
    return canvas, Crop(70, 60, 150)


def test_with_no_margin_refine_is_the_plain_prediction_of_the_crop(conv_model, photo):
    gray, crop = photo
    fully_conv = fully_convolutional_model(conv_model)
    plain = predict_pixels(conv_model.module, cut_faces(gray, [crop]))[0].reshape(15, 2)
    np.testing.assert_allclose(
        refine_keypoints(gray, crop, fully_conv, conv_model.columns, margin=0), to_photo(plain, crop), atol=1e-3
    )


def test_refine_averages_the_nine_windows_around_the_crop(conv_model, photo):
    gray, crop = photo
    fully_conv = fully_convolutional_model(conv_model)
    refined = refine_keypoints(gray, crop, fully_conv, conv_model.columns, margin=8)
    # independently: the 112-px square around the crop, its nine 96-px windows, each mapped back and averaged
    extra = round(8 * 150 / 96)
    big = Crop(crop.x0 - extra, crop.y0 - extra, crop.side + 2 * extra)
    square = cut_square(gray, big, 112)
    windows = np.stack([square[r : r + 96, c : c + 96] for r in (0, 8, 16) for c in (0, 8, 16)])[:, None]
    points = predict_pixels(conv_model.module, windows).reshape(9, 15, 2)
    points += np.array([(c, r) for r in (0, 8, 16) for c in (0, 8, 16)], np.float32)[:, None, :]
    expected = (points.mean(axis=0) + 0.5) * (big.side / 112) - 0.5 + np.array([big.x0, big.y0])
    np.testing.assert_allclose(refined, expected, atol=1e-3)
    plain = to_photo(predict_pixels(conv_model.module, cut_faces(gray, [crop]))[0].reshape(15, 2), crop)
    assert np.abs(refined - plain).max() > 0.01  # the average is not just the centre window


def test_refine_refuses_networks_without_shared_weights(tmp_path):
    from keypoints.model.checkpoint import load_model

    model = load_model(save_model(tmp_path / "bnconv.pt", "bnconv", build_network("bnconv"), {}))
    with pytest.raises(ConversionError, match="pads its input"):
        fully_convolutional_model(model)


@pytest.fixture(scope="module")
def shared_photos(shared_data_dir):
    folder = Path(shared_data_dir).parent / "photos"
    if not (folder / "keypoints.csv").is_file():
        pytest.skip(f"{folder} has no photos with keypoints.csv")
    return folder


def test_explain_finds_the_face_in_a_photo_as_the_predictor_does(shared_photos, conv_model, tmp_path, capsys):
    photo = sorted(shared_photos.glob("*.jpg"))[0]
    code = main(["explain", "--model", str(conv_model.path), str(photo), "--out", str(tmp_path), "--stride", "12"])
    assert code == 0
    out = capsys.readouterr().out
    assert f"{photo.name} face 0 (" in out  # the predictor's numbering
    for kind in ("saliency", "occlusion"):
        assert (tmp_path / f"{photo.stem}_face0_{kind}.png").stat().st_size > 10_000


def test_predict_refine_refuses_a_model_without_a_fully_convolutional_form(tmp_path, capsys):
    import cv2

    photo = tmp_path / "noise.png"
    cv2.imwrite(str(photo), np.random.default_rng(0).integers(0, 256, (120, 120), dtype=np.uint8))
    model = save_model(tmp_path / "bnconv.pt", "bnconv", build_network("bnconv"), {})
    code = main(["predict", str(photo), "--model", str(model), "--out", str(tmp_path / "out"), "--refine"])
    assert code == 1
    err = capsys.readouterr().err
    assert "--refine needs a network whose windows are exactly the network (layer 'conv1' pads its input" in err
    assert "pass --model with a model of such a network (conv), or leave --refine out" in err
    assert not (tmp_path / "out" / "keypoints.csv").exists()


def test_predict_with_refine_gives_the_window_average_of_the_final_crop(shared_photos, conv_model):
    import cv2

    from keypoints.predict.crops.crop import clip_to_crop
    from keypoints.predict.detect import make_detector
    from keypoints.predict.photo.pipeline import predict_file

    photo = sorted(shared_photos.glob("*.jpg"))[0]
    windows = fully_convolutional_model(conv_model)
    haar = make_detector("haar")  # --refine's windows are upright squares from a box, as Haar's faces are cut
    plain = predict_file(photo, conv_model, haar, draw=False).faces
    refined = predict_file(photo, conv_model, haar, draw=False, windows=windows).faces
    assert len(plain) == len(refined) >= 1
    gray = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2GRAY)
    for before, after in zip(plain, refined):
        assert after.crop == before.crop  # the framing is the predictor's; only the last prediction changes
        expected = clip_to_crop(refine_keypoints(gray, after.crop, windows, conv_model.columns), after.crop)
        np.testing.assert_allclose(after.keypoints, expected, atol=1e-6)
        assert np.abs(after.keypoints - before.keypoints).max() > 0.01
