"""Model files name every layer by its kind, read back through one explicit table."""

import dataclasses

import pytest
import torch

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.errors import ModelFileError
from keypoints.model.checkpoint import load_model, network_from_dict, network_to_dict, save_model
from keypoints.networks import layers
from keypoints.networks.build import Network, build_module
from keypoints.networks.layers import SPEC_KINDS

EVERY_KIND = Network(
    "every-kind",
    "one layer of each kind",
    (
        layers.Conv(4, 3, stride=1, padding=1, bias=False),
        layers.BatchNorm(),
        layers.ReLU(),
        layers.Pool(2),
        layers.Local(3, 2, name="local_a"),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(5),
    ),
    input_volume=(1, 12, 12),
)


def test_the_table_holds_every_kind_of_layer_spec():
    concrete = {
        cls
        for cls in vars(layers).values()
        if isinstance(cls, type)
        and issubclass(cls, layers.LayerSpec)
        and cls is not layers.LayerSpec
        and "kind" in cls.__dict__
    }
    assert set(SPEC_KINDS.values()) == concrete
    assert all(kind == cls.kind for kind, cls in SPEC_KINDS.items())
    assert {
        "conv",
        "local",
        "pool",
        "globalpool",
        "flatten",
        "dense",
        "relu",
        "batchnorm",
        "dropout",
        "softargmax",
    } == set(SPEC_KINDS)


def test_every_kind_round_trips_through_a_model_file(tmp_path):
    assert network_from_dict(network_to_dict(EVERY_KIND)) == EVERY_KIND
    gap = dataclasses.replace(EVERY_KIND, layers=(layers.Conv(2, 3), layers.GlobalPool(), layers.Dense(5)))
    assert network_from_dict(network_to_dict(gap)) == gap
    torch.manual_seed(0)
    module = build_module(EVERY_KIND).eval()
    loaded = load_model(save_model(tmp_path / "every.pt", EVERY_KIND, module, {}, columns=KEYPOINT_COLUMNS[:5]))
    assert loaded.network == EVERY_KIND
    x = torch.rand(2, 1, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(x), module(x))


def test_an_unknown_layer_kind_is_refused_by_name():
    data = network_to_dict(EVERY_KIND)
    data["layers"][2] = {"kind": "swish", "name": None}
    with pytest.raises(ModelFileError, match=r"unknown layer kind 'swish'; this model needs a newer keypoints"):
        network_from_dict(data)
