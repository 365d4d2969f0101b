"""The learned error estimate: fitted on faces with known errors, stored in the model card, and run by the predictor."""

import json

import numpy as np
import pytest

from keypoints import paths
from keypoints.data.schema import KEYPOINTS
from keypoints.data.synthetic import generate_faces
from keypoints.errors import ModelFileError
from keypoints.model.checkpoint import load_model
from keypoints.model.inference import predict_pixels, predict_pixels_and_features
from keypoints.model.onnx_model import load_onnx_model
from keypoints.predict.estimates.confidence import (
    MIRROR_WEIGHT,
    error_head_of,
    estimate_error,
    face_errors,
    predict_with_disagreement,
    spearman,
)
from keypoints.predict.estimates.error_head import CARD_KEY, ErrorHead, blend_heads, fit_error_head, head_inputs

K = len(KEYPOINTS)


def known_faces(n=400, features=12, seed=0):
    """Inputs whose true log error is a straight line on two hidden causes that every feature mixes, plus noise."""
    rng = np.random.default_rng(seed)
    causes = rng.normal(size=(n, 2))
    feats = causes @ rng.normal(size=(2, features)) + 0.1 * rng.normal(size=(n, features))
    gaps = rng.uniform(0.2, 2.0, size=(n, K))
    sides = rng.uniform(40, 400, size=n)
    level = 0.8 * causes[:, 0] - 0.5 * causes[:, 1] + 0.05 * rng.normal(size=n)
    spread = rng.normal(scale=0.3, size=(n, K))
    errors = 0.04 * np.exp(level[:, None] + spread)
    return feats, gaps, sides, errors


def test_the_fitted_head_ranks_faces_by_an_error_its_features_carry():
    feats, gaps, sides, errors = known_faces()
    head = fit_error_head(feats[:300], gaps[:300], sides[:300], errors[:300], components=4, alpha=1.0)
    face, each = head.relative(feats[300:], gaps[300:], sides[300:])
    truth = errors[300:].mean(axis=1)
    assert spearman(face, truth) > 0.9
    assert face.shape == (100,) and each.shape == (100, K)
    np.testing.assert_allclose(each.mean(axis=1), face, rtol=1e-12)  # the keypoints share the face's estimate
    # calibrated: on the faces it was fitted on, the estimates' mean is the true errors' mean
    fitted, _ = head.relative(feats[:300], gaps[:300], sides[:300])
    assert fitted.mean() == pytest.approx(errors[:300].mean(axis=1).mean(), rel=1e-9)
    assert head.feature_count == feats.shape[1] and head.faces == 300


def test_a_face_of_weight_zero_does_not_move_the_fit():
    feats, gaps, sides, errors = known_faces()
    wild = errors.copy()
    wild[:50] *= 100  # these faces' errors would pull the line if they counted
    weights = np.r_[np.zeros(50), np.ones(350)]
    with_zero = fit_error_head(feats, gaps, sides, wild, weights=weights)
    without = fit_error_head(feats[50:], gaps[50:], sides[50:], errors[50:])
    np.testing.assert_allclose(with_zero.weights, without.weights, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(with_zero.level, without.level, rtol=1e-8)


def test_an_input_the_same_on_every_face_gets_no_weight():
    feats, gaps, _, errors = known_faces()
    head = fit_error_head(feats, gaps, np.full(len(feats), 96.0), errors, components=None)
    assert np.all(head.weights[-1] == 0)  # the log side's row: the training crops are all 96 px
    assert np.isfinite(head.weights).all() and head.weights.shape == (feats.shape[1] + K + 2, K + 1)


def test_a_blend_is_the_geometric_mean_of_the_two_estimates_levelled_on_the_faces_given():
    feats, gaps, sides, errors = known_faces()
    first = fit_error_head(feats[:200], gaps[:200], sides[:200], errors[:200] * 3, components=None, alpha=1.0)
    second = fit_error_head(feats[200:], gaps[200:], sides[200:], errors[200:], components=4, alpha=1.0)
    blend = blend_heads(first, second, 0.25, feats[200:], gaps[200:], sides[200:], errors[200:])
    face, each = blend.relative(feats, gaps, sides)
    one, two = first.relative(feats, gaps, sides)[0], second.relative(feats, gaps, sides)[0]
    ratio = face / (one**0.25 * two**0.75)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)  # the same geometric mean, up to one level
    # levelled on the faces given: the first head's tripled errors do not carry over
    assert face[200:].mean() == pytest.approx(errors[200:].mean(axis=1).mean(), rel=1e-9)
    np.testing.assert_allclose(each.mean(axis=1), face, rtol=1e-12)
    assert blend.faces == 400
    assert blend_heads(first, second, 0.0, feats, gaps, sides, errors).weights == pytest.approx(second.weights)


def test_the_head_survives_the_model_cards_json():
    feats, gaps, sides, errors = known_faces()
    head = fit_error_head(feats, gaps, sides, errors)
    card = json.loads(json.dumps({CARD_KEY: head.to_card()}))
    again = ErrorHead.from_card(card)
    np.testing.assert_allclose(again.relative(feats, gaps, sides)[0], head.relative(feats, gaps, sides)[0], rtol=1e-5)
    assert ErrorHead.from_card({}) is None and ErrorHead.from_card(None) is None


def test_the_inputs_are_the_features_and_the_logs_of_the_gaps_and_the_side():
    inputs = head_inputs(np.ones((2, 3)), np.zeros((2, K)), np.array([96.0, 192.0]))
    assert inputs.shape == (2, 3 + K + 2)
    np.testing.assert_allclose(inputs[:, 3:-1], np.log(1e-3))  # a gap of zero stays finite
    np.testing.assert_allclose(inputs[:, -1], np.log([96.0, 192.0]))


def test_face_errors_is_the_larger_of_the_head_and_the_weighted_mirror_line_spread_as_the_head_says():
    feats, gaps, sides, errors = known_faces(n=60)
    head = fit_error_head(feats, gaps, sides, errors)
    keypoints = np.random.default_rng(1).uniform(0, 300, size=(60, K, 2))
    face, each = face_errors(head, gaps, feats, keypoints, sides)
    learned, learned_each = head.estimate(feats, gaps, sides, keypoints)
    mirror = estimate_error(gaps.mean(axis=1), sides)
    np.testing.assert_allclose(face, np.maximum(learned, MIRROR_WEIGHT * mirror))
    np.testing.assert_allclose(each.mean(axis=1), face, rtol=1e-12)
    np.testing.assert_allclose(each / each.sum(axis=1, keepdims=True), learned_each / learned_each.sum(1)[:, None])
    # no head, no features, or no mirror pass: the mirror line alone
    for args in [(None, gaps, feats), (head, gaps, None)]:
        alone, alone_each = face_errors(*args, keypoints, sides)
        np.testing.assert_allclose(alone, mirror)
        np.testing.assert_allclose(alone_each, estimate_error(gaps, sides[:, None]))
    assert np.isnan(face_errors(head, np.full_like(gaps, np.nan), feats, keypoints, sides)[0]).all()


def test_a_head_for_another_network_is_refused_with_what_to_do():
    feats, gaps, sides, errors = known_faces(n=40)
    head = fit_error_head(feats, gaps, sides, errors)
    with pytest.raises(ModelFileError, match="reads 12 features, the network gives 5.*export the model again"):
        face_errors(head, gaps, feats[:, :5], np.zeros((40, K, 2)), sides)


def test_the_shipped_model_carries_a_head_for_its_own_features():
    model = load_model(paths.DEFAULT_MODEL)
    head = error_head_of(model)
    assert head is not None and head.weights.shape == (192 + K + 2, K + 1) and head.faces > 500
    assert error_head_of(model) is head  # read once per card
    images, _ = generate_faces(6, seed=2)
    pixels, features = predict_pixels_and_features(model.module, images)
    np.testing.assert_array_equal(pixels, predict_pixels(model.module, images))
    assert features.shape == (6, head.feature_count) and (features >= 0).all()  # means of ReLU maps


def test_the_exported_file_gives_the_same_features_as_torch():
    torch_model, onnx_model = load_model(paths.DEFAULT_MODEL), load_onnx_model(paths.PREDICTOR_MODEL)
    assert onnx_model.module.has_features
    assert onnx_model.card[CARD_KEY] == torch_model.card[CARD_KEY]
    images, _ = generate_faces(5, seed=4)
    _, expected = predict_pixels_and_features(torch_model.module, images)
    pixels, features = predict_pixels_and_features(onnx_model.module, images)
    np.testing.assert_allclose(features, expected, atol=1e-4 * np.abs(expected).max())
    np.testing.assert_allclose(pixels, predict_pixels(onnx_model.module, images), atol=1e-5)


def test_a_network_without_a_flatten_gives_no_features():
    import torch

    module = torch.nn.Sequential(torch.nn.Conv2d(1, 30, 96), torch.nn.Tanh()).eval()

    class Squeezed(torch.nn.Module):
        def forward(self, x):
            return module(x).flatten(1)

    images, _ = generate_faces(2, seed=0)
    pixels, features = predict_pixels_and_features(Squeezed(), images)
    assert pixels.shape == (2, 30) and features is None


def test_a_face_turned_upside_down_is_estimated_worse_than_upright():
    model = load_onnx_model(paths.PREDICTOR_MODEL)
    images, _ = generate_faces(12, seed=5)
    sides = np.full(12, 96.0)

    def estimated(faces):
        pixels, gaps, features = predict_with_disagreement(
            model.module, faces, model.columns, model.card["flip_mirror_sum_px"], per_keypoint=True, features=True
        )
        face, _ = face_errors(error_head_of(model), gaps, features, pixels.reshape(-1, K, 2), sides)
        eyes = np.linalg.norm(pixels[:, 0:2] - pixels[:, 2:4], axis=1)
        return face / eyes

    upright, turned = estimated(images), estimated(np.ascontiguousarray(images[:, :, ::-1, ::-1]))
    assert np.median(turned) > 1.5 * np.median(upright)


@pytest.mark.parametrize(
    "entry, words",
    [
        ({"weights": [[1.0]], "bias": [0.0], "level": [1.0]}, r"has weights \(1, 1\)"),
        ({"bias": [0.0] * 16, "level": [1.0] * 16}, "cannot be read"),
        ({"weights": "x", "bias": [0.0] * 16, "level": [1.0] * 16}, "cannot be read|has weights"),
        ({"weights": [[float("nan")] * 16] * 20, "bias": [0.0] * 16, "level": [1.0] * 16}, "all finite"),
    ],
)
def test_a_card_whose_head_is_broken_is_refused_with_what_to_do(entry, words):
    with pytest.raises(ModelFileError, match=words) as raised:
        ErrorHead.from_card({CARD_KEY: entry})
    assert "tools/fit_error_head.py --write" in str(raised.value)


def test_the_predictor_names_a_broken_head_when_it_loads_the_model():
    from keypoints.predict.photo.pipeline import load_predictor_model

    model = load_onnx_model(paths.PREDICTOR_MODEL)
    broken = model._replace(card=dict(model.card, **{CARD_KEY: {"weights": [[1.0]], "bias": [0.0], "level": [1.0]}}))
    with pytest.raises(ModelFileError, match=r"default\.onnx: the model card's error_head has weights"):
        load_predictor_model(broken)
