"""Saliency, occlusion, first-layer filters, their figures, `keypoints explain` and the training report's figures."""

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from keypoints.cli import main
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces
from keypoints.data.transforms import HALF
from keypoints.data.writer import write_kaggle_csv
from keypoints.errors import DataError, KeypointsError
from keypoints.explain import first_layer_filters, keypoint_saliency, occlusion_map, saliency
from keypoints.explain.filters import local_position
from keypoints.explain.occlusion import patch_origins
from keypoints.explain.sources import faces_from_csv, parse_csv_spec
from keypoints.explain.training_figures import (
    explanations_markdown,
    typical_validation_face,
    write_training_explanations,
)
from keypoints.model.checkpoint import save_model
from keypoints.networks import Conv, Dense, Flatten, Local, Pool, ReLU
from keypoints.networks.build import Network, build_module
from keypoints.training.trainer import TrainValidSplit

LINEAR = Network("linear", "a linear map of the pixels", (Flatten(), Dense(30)))
SMALL_CONV = Network("small-conv", "a small convnet", (Conv(4, 4, stride=2), ReLU(), Pool(2), Flatten(), Dense(30)))
SMALL_LOCAL = Network(
    "small-local",
    "a small locally-connected net",
    (Local(4, 3), ReLU(), Pool(2), Pool(2), Pool(2), Flatten(), Dense(30)),
)


@pytest.fixture(scope="module")
def faces():
    images, keypoints = generate_faces(4, seed=11)
    return images, keypoints


def test_saliency_of_a_linear_network_is_its_weights_in_pixels_per_gray_level(faces):
    net = build_module(LINEAR).eval()
    gradients = saliency(net, faces[0][0])
    assert gradients.shape == (30, 96, 96) and gradients.dtype == np.float32
    # output k in pixels = 48 * (w_k . pixels / 255 + b_k) + 48
    expected = net[1].weight.detach().numpy().reshape(30, 96, 96) * HALF / 255
    np.testing.assert_allclose(gradients, expected, rtol=1e-5, atol=1e-9)


def test_saliency_matches_a_finite_difference_on_one_pixel(faces):
    torch.manual_seed(0)
    net = build_module(SMALL_CONV).eval().double()
    face = faces[0][1, 0]
    gradients = saliency(net.float(), face)
    net = net.double()
    row, col = 50, 40

    def keypoints(image):  # in pixels, float64 for a clean difference
        with torch.no_grad():
            return net(torch.from_numpy(image / 255.0)[None, None]).numpy()[0] * HALF + HALF

    step = 1e-3  # gray levels: small enough not to cross a ReLU's kink
    up, down = face.astype(np.float64), face.astype(np.float64)
    up[row, col] += step
    down[row, col] -= step
    finite = (keypoints(up) - keypoints(down)) / (2 * step)
    assert np.abs(finite).max() > 1e-6  # the pixel matters, so the comparison means something
    np.testing.assert_allclose(gradients[:, row, col], finite, rtol=1e-3, atol=1e-7)


def test_keypoint_saliency_is_the_length_of_the_xy_gradient_and_sums_over_keypoints():
    gradients = np.zeros((30, 2, 2), np.float32)
    gradients[KEYPOINT_COLUMNS.index("nose_tip_x"), 0, 0] = 3
    gradients[KEYPOINT_COLUMNS.index("nose_tip_y"), 0, 0] = 4
    gradients[KEYPOINT_COLUMNS.index("left_eye_center_y"), 1, 1] = -2
    np.testing.assert_allclose(keypoint_saliency(gradients, KEYPOINT_COLUMNS, "nose_tip"), [[5, 0], [0, 0]])
    np.testing.assert_allclose(keypoint_saliency(gradients, KEYPOINT_COLUMNS), [[5, 0], [0, 2]])
    with pytest.raises(KeypointsError, match=r"unknown keypoint 'nose'; this model predicts: left_eye_center, "):
        keypoint_saliency(gradients, KEYPOINT_COLUMNS, "nose")


def test_patch_positions_cover_the_whole_face():
    np.testing.assert_array_equal(patch_origins(12, 4), np.arange(0, 85, 4))
    np.testing.assert_array_equal(patch_origins(10, 4)[-3:], [80, 84, 86])
    with pytest.raises(KeypointsError, match="patch must be 1 to 96 pixels wide, got 100"):
        patch_origins(100, 4)
    with pytest.raises(KeypointsError, match="stride must be at least 1 pixel, got 0"):
        patch_origins(8, 0)


def test_occlusion_raises_the_error_only_where_a_linear_model_looks(faces):
    net = build_module(LINEAR).eval()
    with torch.no_grad():  # every output reads only the pixels of rows 40-49, columns 20-29
        weight = torch.zeros(30, 96, 96)
        weight[:, 40:50, 20:30] = torch.randn(30, 10, 10) * 0.05
        net[1].weight.copy_(weight.reshape(30, -1))
        net[1].bias.zero_()
    face = faces[0][2, 0]
    result = occlusion_map(net, face, patch=8, stride=4)
    origins = patch_origins(8, 4)
    assert result.growth.shape == (len(origins), len(origins)) and result.patch == 8
    assert result.base_error == 0 and not result.against_labels
    overlaps = np.array([[r < 50 and r + 8 > 40 and c < 30 and c + 8 > 20 for c in origins] for r in origins])
    assert (result.growth[overlaps] > 0.01).all()
    np.testing.assert_allclose(result.growth[~overlaps], 0, atol=1e-4)
    per_pixel = result.per_pixel()
    assert per_pixel.shape == (96, 96) and per_pixel[45, 25] > 0.01 and per_pixel[80, 80] == pytest.approx(0, abs=1e-4)


def test_occlusion_against_labels_starts_from_the_labelled_error(faces):
    net = build_module(LINEAR).eval()
    images, keypoints = faces
    result = occlusion_map(net, images[0, 0], keypoints[0], patch=24, stride=24)
    assert result.against_labels and result.growth.shape == (4, 4)
    predicted = net(torch.from_numpy(images[:1] / np.float32(255))).detach().numpy()[0] * HALF + HALF
    assert result.base_error == pytest.approx(np.sqrt(((predicted - keypoints[0]) ** 2).mean()), rel=1e-4)


def test_conv_filters_are_one_bank_and_local_filters_differ_by_position():
    conv = build_module(SMALL_CONV)
    filters = first_layer_filters(conv)
    assert filters.kind == "conv" and filters.layer == "conv1" and list(filters.banks) == ["all positions"]
    np.testing.assert_array_equal(filters.banks["all positions"], conv.conv1.weight.detach().numpy())
    assert filters.relative_difference() == 0

    local = build_module(SMALL_LOCAL)
    filters = first_layer_filters(local)
    assert filters.kind == "local" and list(filters.banks) == ["left eye", "nose tip", "mouth"]
    layer = local.local1
    row, col = local_position(layer, 66, 38)  # a 3x3 filter at output (r, c) is centred on pixel (r + 1, c + 1)
    assert (row, col) == (37, 65) and filters.positions["left eye"] == (66.0, 38.0, 37, 65)
    expected = layer.weight.detach().numpy()[37 * 94 + 65].T.reshape(4, 1, 3, 3)
    np.testing.assert_array_equal(filters.banks["left eye"], expected)
    assert filters.banks["left eye"].shape == (4, 1, 3, 3)
    assert filters.relative_difference() > 0.5  # independent initialisations differ
    with pytest.raises(KeypointsError, match="no convolution or locally-connected layer"):
        first_layer_filters(build_module(LINEAR))


def test_csv_specs_name_rows_from_one():
    path, rows = parse_csv_spec("data/training.csv.gz:1,5,10-12")
    assert str(path) == "data/training.csv.gz" and rows == [1, 5, 10, 11, 12]
    assert parse_csv_spec("photo.jpg") is None and parse_csv_spec("C:photo.jpg") is None
    with pytest.raises(DataError, match=r"a.csv:0,2: '0' is not a row range; rows count from 1"):
        parse_csv_spec("a.csv:0,2")
    with pytest.raises(DataError, match=r"a.csv:first: rows must be numbers from 1, as in a.csv:12"):
        parse_csv_spec("a.csv:first")


def test_csv_rows_are_read_and_bad_or_missing_rows_are_named(tmp_path, faces):
    images, keypoints = faces
    keypoints = keypoints.copy()
    keypoints[2, 0] = 120.0  # outside the frame: row 3, line 4 is bad
    path = write_kaggle_csv(tmp_path / "few.csv", images, keypoints)
    got = faces_from_csv(path, [1, 4])
    assert [f.label for f in got] == ["few_row1", "few_row4"] and got[1].source == "few.csv row 4 (line 5)"
    np.testing.assert_array_equal(got[1].image, images[3, 0])
    np.testing.assert_allclose(got[1].labels, keypoints[3], rtol=1e-6)
    with pytest.raises(
        DataError,
        match=r"few.csv: row 3 \(line 4\) is bad.*line 4, column left_eye_center_x: "
        r"120 is outside",
    ):
        faces_from_csv(path, [3])
    with pytest.raises(DataError, match=r"few.csv: there is no row 5; the file has 4 faces \(rows 1 to 4\)"):
        faces_from_csv(path, [5])


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and imread(path).shape[0] > 200


def test_explain_command_writes_figures_and_goes_on_after_a_bad_image(tmp_path, faces, capsys):
    images, keypoints = faces
    csv = write_kaggle_csv(tmp_path / "faces.csv", images, keypoints)
    test_csv = write_kaggle_csv(tmp_path / "test.csv", images[:2])  # no labels: error vs the clean prediction
    model = save_model(tmp_path / "local.pt", SMALL_LOCAL, build_module(SMALL_LOCAL), {})
    out = tmp_path / "out"
    code = main(
        [
            "explain",
            "--model",
            str(model),
            f"{csv}:2",
            str(tmp_path / "gone.csv:1"),
            f"{test_csv}:1",
            "--out",
            str(out),
            "--keypoint",
            "left_eye_center",
            "--patch",
            "16",
            "--stride",
            "16",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1  # one IMAGE failed, and the exit code says so
    assert "gone.csv: no such file" in captured.err
    assert "wrote 5 figure(s); 1 of 3 IMAGE argument(s) failed" in captured.out
    for name in (
        "filters_small-local",
        "faces_row2_saliency",
        "faces_row2_occlusion",
        "test_row1_saliency",
        "test_row1_occlusion",
    ):
        assert is_png(out / f"{name}.png"), name


def test_explain_refuses_an_unknown_keypoint_before_any_work(tmp_path, capsys):
    model = save_model(tmp_path / "conv.pt", SMALL_CONV, build_module(SMALL_CONV), {})
    assert main(["explain", "--model", str(model), "x.csv:1", "--keypoint", "chin", "--out", str(tmp_path)]) == 1
    assert "error: unknown keypoint 'chin'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))


def test_training_explanations_show_every_network_on_the_same_face(tmp_path, faces):
    images, keypoints = faces
    keypoints = keypoints.copy()
    keypoints[1, 4:] = np.nan  # incomplete: never the shown face
    prepared = TrainValidSplit(
        source=tmp_path / "t.csv",
        sha256="0" * 64,
        columns=KEYPOINT_COLUMNS,
        train_images=images,
        train_keypoints=keypoints,
        valid_images=images,
        valid_keypoints=keypoints,
        split="test",
    )
    mean = np.nanmean(keypoints, axis=0)
    distances = [np.mean((k - mean) ** 2) if not np.isnan(k).any() else np.inf for k in keypoints]
    assert typical_validation_face(prepared) == int(np.argmin(distances))
    modules = {"small-conv": build_module(SMALL_CONV).eval(), "linear": build_module(LINEAR).eval()}
    written = write_training_explanations(modules, prepared, tmp_path / "reports")
    figures = tmp_path / "reports" / "figures"
    assert written == [
        figures / "saliency_small-conv.png",
        figures / "occlusion_small-conv.png",
        figures / "saliency_linear.png",
        figures / "occlusion_linear.png",
    ]
    assert all(is_png(path) for path in written)
    text = explanations_markdown(written, tmp_path / "reports")
    assert "| | `small-conv` | `linear` |" in text
    assert (
        "| saliency | ![saliency small-conv](figures/saliency_small-conv.png) | "
        "![saliency linear](figures/saliency_linear.png) |"
    ) in text
    assert "| occlusion | ![occlusion small-conv](figures/occlusion_small-conv.png) |" in text
    assert explanations_markdown([], tmp_path) == ""
