"""Model files with fields changed at random: loaded and predicting faces of the documented shapes, or refused
with a KeypointsError that names the file; never another exception, and no warning but the card's own."""

import copy
import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from fuzzing import FAST, LONG, keypoints_error_or_result
from hypothesis import given
from hypothesis import strategies as st

from keypoints import Predictor
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces
from keypoints.data.transforms import scale_keypoints
from keypoints.errors import ModelFileError
from keypoints.model.checkpoint import save_model
from keypoints.model.inference import predict_pixels_and_features
from keypoints.networks.build import Network, build_module
from keypoints.networks.layers import Dense, Flatten, Pool
from keypoints.predict.crops.crop import MEAN_KEYPOINTS
from keypoints.predict.photo.pipeline import load_predictor_model
from keypoints.predictor import card_warnings

NETWORK = Network("tiny", "the mean keypoints through a pooled face", (Pool(8), Flatten(), Dense(30)))
"""144 inputs to 30 outputs: a model file of 20 kB, with a card that holds every field the predictor reads."""

COUNTER = itertools.count()


class Saved(dict):
    """What ``torch.load`` gave, with a short name in Hypothesis's reports (saved as a plain dict)."""

    def __repr__(self):
        return "<a small model file's contents>"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """What ``torch.load`` gives for a small, complete model file: an error head and a mirror axis in its card."""
    module = build_module(NETWORK)
    with torch.no_grad():
        module[-1].weight.mul_(0.01)
        module[-1].bias.copy_(torch.from_numpy(scale_keypoints(MEAN_KEYPOINTS.ravel())))
    _, means = predict_pixels_and_features(module.eval(), np.zeros((1, 1, 96, 96), np.uint8))
    rng = np.random.default_rng(0)
    card = {
        "network": "tiny",
        "data": "training.csv",
        "epochs": 3,
        "best_epoch": 2,
        "seed": 0,
        "synthetic_data": False,
        "valid_fraction": 0.2,
        "best_valid_rmse_px": 2.0,
        "mean_baseline_rmse_px": 3.0,
        "flip_mirror_sum_px": 95.0,
        "error_head": {
            "weights": (rng.normal(0, 0.01, (means.shape[1] + 17, 16))).tolist(),
            "bias": [-3.0] * 16,
            "level": [1.0] * 16,
            "faces": 40,
        },
    }
    path = save_model(tmp_path_factory.mktemp("model") / "tiny.pt", NETWORK, module, card)
    return Saved(torch.load(path, weights_only=True))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("edited")


@pytest.fixture(scope="module")
def face():
    """A synthetic face on a gray photo, and its box."""
    photo = np.full((160, 160), 120, np.uint8)
    photo[32:128, 32:128] = generate_faces(1, seed=3)[0][0, 0]
    return photo, [[32.0, 32.0, 96.0, 96.0]]


def leaves(table, prefix=()):
    """Every key path into the saved dict, a list's items included (the weights' rows and tensors whole)."""
    found = []
    items = table.items() if isinstance(table, dict) else enumerate(table)
    for key, value in items:
        path = (*prefix, key)
        found.append(path)
        if isinstance(value, dict) or (isinstance(value, list) and value and not isinstance(value[0], float)):
            found += leaves(value, path)
    return found


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.sampled_from([0, 1, -1, 2, 30, 96, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "keypoints-model", "dense", "conv", "flatten", "nose_tip_x", "left_eye_center_x"]),
    st.lists(st.integers(-3, 200), max_size=4),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=17),
    st.just({}),
    st.just([]),
    st.tuples(st.lists(st.integers(0, 40), min_size=0, max_size=3), st.sampled_from(["zeros", "nan", "long"])),
)
"""A changed field's new value; a (shape, kind) pair becomes a tensor."""


def as_value(value):
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[1], str)
        and value[1] in ("zeros", "nan", "long")
    ):
        shape, kind = value
        if kind == "long":
            return torch.zeros(shape, dtype=torch.long)
        return torch.full(shape, math.nan if kind == "nan" else 0.0)
    return value


@st.composite
def edits(draw, paths):
    """One to three edits: a field set to a value, a field deleted, or a key added."""
    chosen = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        chosen.append((path, action, draw(values)))
    return chosen


def apply(saved, chosen):
    saved = copy.deepcopy(dict(saved))
    for path, action, value in chosen:
        table = saved
        try:
            for key in path[:-1]:
                table = table[key]
            if not isinstance(table, (dict, list)):
                continue  # an earlier edit put a value of another kind on the way there
            if action == "set":
                table[path[-1]] = as_value(value)
            elif action == "delete":
                del table[path[-1]]
            elif isinstance(table, dict):
                table[f"extra_{len(table)}"] = as_value(value)
            else:
                table.append(as_value(value))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit took the way there away
    return saved


def check_model_file(saved, folder, face, chosen):
    path = folder / f"m{next(COUNTER)}.pt"
    torch.save(apply(saved, chosen), path)
    try:
        check_loaded(path, face)
    finally:
        path.unlink()


def check_loaded(path, face):
    with keypoints_error_or_result() as refused:
        model = load_predictor_model(path)
    if refused:
        assert str(path) in str(refused[0]), refused[0]
        return
    assert len(model.columns) == len(set(model.columns)) and set(KEYPOINT_COLUMNS) <= set(model.columns)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        predict = Predictor(model=model)
    assert [str(w.message) for w in said] == card_warnings(model.card, model.path)
    photo, box = face
    with keypoints_error_or_result() as refused:
        faces = predict(photo, boxes=box)
    if not refused:
        assert faces.keypoints.shape == (1, 15, 2) and np.isfinite(faces.keypoints).all()
        assert faces.errors_px.shape == (1,) and faces.keypoint_errors_px.shape == (1, 15)


def test_the_unchanged_file_loads_and_predicts(saved, folder, face):
    check_model_file(saved, folder, face, [])
    assert Predictor(model=load_model_of(saved, folder))(face[0], boxes=face[1]).keypoints.shape == (1, 15, 2)


def load_model_of(saved, folder):
    path = folder / "plain.pt"
    torch.save(dict(saved), path)
    return load_predictor_model(path)


def paths_of(saved):
    return leaves(saved)


@FAST
@given(data=st.data())
def test_model_files_with_fields_changed(saved, folder, face, data):
    check_model_file(saved, folder, face, data.draw(edits(paths_of(saved))))


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_model_files_with_fields_changed_long(saved, folder, face, data):
    check_model_file(saved, folder, face, data.draw(edits(paths_of(saved))))


@pytest.mark.parametrize(
    ("chosen", "said"),
    [
        ([(("version",), "set", ([0], "zeros"))], "model file version tensor([]), this keypoints reads version 1"),
        ([(("format",), "set", ([2], "long"))], "a PyTorch file, but not a keypoints model"),
        ([(("card", "error_head"), "set", ([0], "zeros"))], "the model card's error_head is Tensor, not a table"),
        ([(("card", "error_head", "faces"), "set", math.inf)], "the model card's error_head cannot be read"),
    ],
)
def test_fields_the_fuzzer_found_are_refused_by_name(saved, folder, face, chosen, said):
    # each gave a RuntimeError or an OverflowError: a tensor's truth value, int(inf)
    path = folder / "found.pt"
    torch.save(apply(saved, chosen), path)
    with pytest.raises(ModelFileError) as refused:
        load_predictor_model(path)
    assert str(refused.value).startswith(f"{path}: ") and said in str(refused.value)
    check_model_file(saved, folder, face, chosen)
