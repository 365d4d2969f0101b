"""The heatmap network: soft-argmax read-out, the spreads it gives per keypoint, dilation, export and the error head."""

import json

import numpy as np
import pytest
import torch

from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.data.synthetic import generate_faces
from keypoints.data.transforms import HALF
from keypoints.errors import ConversionError, GeometryError
from keypoints.model.checkpoint import load_model, save_model
from keypoints.model.export import export_model
from keypoints.model.inference import keypoint_feature_count, predict_pixels, predict_pixels_and_features
from keypoints.model.onnx_model import load_onnx_model
from keypoints.networks import Conv, build_network, get_network, network_summary
from keypoints.networks.build import Network, build_module
from keypoints.networks.fully_conv import to_fully_convolutional
from keypoints.networks.heatmaps import SoftArgmax2d, cell_centres
from keypoints.predict.estimates.confidence import mirrored_features, predict_with_disagreement, spearman
from keypoints.predict.estimates.error_head import CARD_KEY, ErrorHead, fit_error_head, head_inputs

K = len(KEYPOINTS)


def peaked(depth, height, width, cells, strength=60.0):
    """(1, depth, height, width) maps, map k all but zero except at ``cells[k]`` (row, column)."""
    maps = torch.zeros(1, depth, height, width)
    for k, (row, column) in enumerate(cells):
        maps[0, k, row, column] = strength
    return maps


def test_cell_centres_are_the_pixel_centres_of_equal_cells_in_the_targets_scale():
    centres = cell_centres(12).numpy() * HALF + HALF  # back to 96-frame px
    np.testing.assert_allclose(centres, np.arange(12) * 8 + 3.5, atol=1e-5)  # pixels 0-7 centre on 3.5
    np.testing.assert_allclose(cell_centres(96).numpy() * HALF + HALF, np.arange(96), atol=1e-5)


def test_a_peaked_map_gives_its_cell_and_no_spread():
    readout = SoftArgmax2d(3, 12, 12)
    maps = peaked(3, 12, 12, [(0, 0), (5, 9), (11, 2)])
    pixels = (readout(maps) * HALF + HALF).reshape(3, 2).numpy()
    np.testing.assert_allclose(pixels, [[3.5, 3.5], [9 * 8 + 3.5, 5 * 8 + 3.5], [2 * 8 + 3.5, 11 * 8 + 3.5]], atol=1e-3)
    assert readout.spread(maps).shape == (1, 3) and (readout.spread(maps) < 1e-3).all()


def test_a_flat_map_gives_the_frame_centre_and_the_spread_of_uniform_cells():
    readout = SoftArgmax2d(2, 12, 12)
    maps = torch.zeros(4, 2, 12, 12)
    np.testing.assert_allclose((readout(maps) * HALF + HALF).numpy(), 47.5, atol=1e-4)
    # cells 8 px apart: each axis's variance is 8^2 (12^2 - 1) / 12; the spread is the root of the two summed
    np.testing.assert_allclose(readout.spread(maps).numpy(), np.sqrt(2 * 64 * 143 / 12), rtol=1e-5)


def test_the_readout_is_differentiable_and_moves_towards_a_target():
    readout = SoftArgmax2d(1, 12, 12)
    maps = torch.zeros(1, 1, 12, 12, requires_grad=True)
    target = torch.tensor([[0.5, -0.5]])
    for _ in range(200):
        loss = (readout(maps) - target).abs().sum()
        (grad,) = torch.autograd.grad(loss, maps)
        maps = (maps - 5.0 * grad).detach().requires_grad_()
    assert torch.allclose(readout(maps), target, atol=0.02)


def test_a_dilated_convolution_spans_its_taps_apart():
    network = Network("dilated", "one dilated convolution", (Conv(4, 3, padding=2, dilation=2),), (1, 12, 12))
    (row,) = network_summary(network).rows
    assert row.volume == (4, 12, 12) and row.params == 4 * 9 + 4
    module = build_module(network)
    assert module(torch.zeros(1, 1, 12, 12)).shape == (1, 4, 12, 12) and module[0].dilation == (2, 2)
    # unpadded, a 3-tap filter 4 px apart spans 9 px: 12 - 9 + 1 = 4
    narrow = Network("narrow", "no padding", (Conv(4, 3, dilation=4),), (1, 12, 12))
    assert network_summary(narrow).rows[0].volume == (4, 4, 4)
    with pytest.raises(GeometryError, match="dilation must be at least 1"):
        network_summary(Network("bad", "dilation 0", (Conv(4, 3, dilation=0),), (1, 12, 12)))


def test_bnheat_gives_the_30_outputs_from_heatmaps():
    net = build_network("bnheat").eval()
    assert net(torch.rand(3, 1, 96, 96)).shape == (3, 30)
    summary = network_summary("bnheat")
    assert summary.rows[-2].name == "heatmaps" and summary.rows[-2].volume == (K, 12, 12)
    assert summary.rows[-1].volume == (30,) and summary.total == sum(p.numel() for p in net.parameters())
    assert keypoint_feature_count(net) == K and keypoint_feature_count(build_network("bnconv")) == 0


def test_bnheat_has_no_fully_convolutional_form_and_says_why():
    with pytest.raises(ConversionError, match="softargmax.*no fully-convolutional form"):
        to_fully_convolutional(build_network("bnheat"), allow_padding=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A bnheat model file with random weights and its ONNX export."""
    folder = tmp_path_factory.mktemp("bnheat")
    torch.manual_seed(0)
    module = build_network("bnheat").eval()
    with torch.no_grad():  # peaked heatmaps, as after training, not the near-flat ones of fresh weights
        module.heatmaps.weight.mul_(40)
    save_model(folder / "bnheat.pt", get_network("bnheat"), module, {"flip_mirror_sum_px": 95.0})
    export_model(folder / "bnheat.pt")
    return load_model(folder / "bnheat.pt"), load_onnx_model(folder / "bnheat.onnx")


def test_the_export_gives_torchs_keypoints_features_and_spreads(exported):
    torch_model, onnx_model = exported
    images, _ = generate_faces(6, seed=3)
    expected, expected_features = predict_pixels_and_features(torch_model.module, images)
    pixels, features = predict_pixels_and_features(onnx_model.module, images)
    assert features.shape == (6, 64 + K) and keypoint_feature_count(onnx_model.module) == K
    np.testing.assert_allclose(pixels, expected, atol=1e-3)
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(predict_pixels(onnx_model.module, images[:1]), expected[:1], atol=1e-3)
    spreads = features[:, -K:]
    assert ((spreads > 0) & (spreads < 40)).all()  # 96-frame px; a flat map would spread 39 px


def test_a_mirrored_faces_spreads_are_swapped_back_to_the_faces_own_keypoints(exported):
    _, onnx_model = exported
    features = np.tile(np.r_[np.zeros(64), np.arange(K, dtype=float)], (2, 1))
    swapped = mirrored_features(features, KEYPOINT_COLUMNS, onnx_model.module)
    left, right = KEYPOINTS.index("left_eye_center"), KEYPOINTS.index("right_eye_center")
    nose = KEYPOINTS.index("nose_tip")
    assert swapped[0, 64 + left] == right and swapped[0, 64 + right] == left and swapped[0, 64 + nose] == nose
    np.testing.assert_array_equal(swapped[:, :64], 0)
    # what the flip averaging gives: a symmetric face's left and right spreads come out the same
    images, _ = generate_faces(4, seed=6)
    symmetric = np.concatenate([images[..., :48], images[..., :48][..., ::-1]], axis=-1)
    _, _, averaged = predict_with_disagreement(
        onnx_model.module, symmetric, onnx_model.columns, 95.0, per_keypoint=True, features=True
    )
    np.testing.assert_allclose(averaged[:, 64 + left], averaged[:, 64 + right], rtol=0.05)


def spread_faces(n=500, seed=0):
    """Faces whose keypoints' errors follow their spreads, as a sure heatmap's keypoints are nearer."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n, 6))
    spreads = rng.uniform(0.5, 6.0, size=(n, K))
    gaps = rng.uniform(0.2, 2.0, size=(n, K))
    sides = rng.uniform(40, 400, size=n)
    errors = 0.01 * spreads * np.exp(0.2 * rng.normal(size=(n, K)))
    return np.column_stack([means, spreads]), gaps, sides, errors


def test_the_head_reads_each_keypoints_spread_as_it_reads_the_gaps():
    features, gaps, sides, errors = spread_faces()
    inputs = head_inputs(features, gaps, sides, spreads=K)
    assert inputs.shape == (len(features), 6 + K + 2 + K + 1)
    np.testing.assert_allclose(inputs[:, -K - 1 : -1], np.log(features[:, -K:] + 1e-3))
    with_spreads = fit_error_head(features[:400], gaps[:400], sides[:400], errors[:400], components=4, spreads=K)
    without = fit_error_head(features[:400], gaps[:400], sides[:400], errors[:400], components=4)
    assert with_spreads.feature_count == without.feature_count == 6 + K and with_spreads.spreads == K
    _, each = with_spreads.relative(features[400:], gaps[400:], sides[400:])
    _, blind = without.relative(features[400:], gaps[400:], sides[400:])
    assert spearman(each.ravel(), errors[400:].ravel()) > 0.8
    assert spearman(each.ravel(), errors[400:].ravel()) > spearman(blind.ravel(), errors[400:].ravel()) + 0.3


def test_a_head_with_spreads_survives_the_card_and_a_wrong_count_is_refused():
    from keypoints.errors import ModelFileError

    features, gaps, sides, errors = spread_faces(n=100)
    head = fit_error_head(features, gaps, sides, errors, components=4, spreads=K)
    card = json.loads(json.dumps({CARD_KEY: head.to_card()}))
    again = ErrorHead.from_card(card)
    assert again.spreads == K and "spread" in card[CARD_KEY]["inputs"]
    np.testing.assert_allclose(again.relative(features, gaps, sides)[0], head.relative(features, gaps, sides)[0], 1e-5)
    card[CARD_KEY]["spreads"] = 7
    with pytest.raises(ModelFileError, match="7 spreads"):
        ErrorHead.from_card(card)
