"""The registered networks: shapes, parameter counts and summaries, all from one spec."""

import re

import pytest
import torch
from torch import nn

from keypoints.errors import GeometryError, KeypointsError
from keypoints.networks import (
    NETWORKS,
    TWINS,
    BatchNorm,
    Conv,
    Dense,
    Flatten,
    GlobalPool,
    Local,
    Network,
    Pool,
    ReLU,
    build_network,
    format_summary,
    get_network,
    network_summary,
)

NAMES = list(NETWORKS)


@pytest.fixture(scope="module")
def built():
    """Each network built once (``local`` holds 44 M parameters), in eval mode."""
    torch.manual_seed(0)
    return {name: build_network(name).eval() for name in NAMES}


def test_registry_order_and_descriptions():
    assert NAMES == ["conv", "local", "hybrid", "bnconv", "bnlocal", "bnheat"]
    for name, network in NETWORKS.items():
        assert network.name == name
        assert network.description and "\n" not in network.description
        assert network.input_volume == (1, 96, 96)


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape(built, name):
    faces = torch.rand(2, 1, 96, 96)
    with torch.no_grad():
        out = built[name](faces)
    assert out.shape == (2, 30)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_summary_counts_match_parameters(built, name):
    net = built[name]
    summary = network_summary(name)
    assert summary.total == sum(p.numel() for p in net.parameters())
    modules = dict(net.named_children())
    assert [row.name for row in summary.rows] == list(modules)
    for row in summary.rows:
        assert row.params == sum(p.numel() for p in modules[row.name].parameters()), row.name


@pytest.mark.parametrize("name", NAMES)
def test_summary_volumes_match_forward(built, name):
    net = built[name]
    seen = {}
    hooks = [
        module.register_forward_hook(lambda module, args, out, name=child: seen.__setitem__(name, tuple(out.shape[1:])))
        for child, module in net.named_children()
    ]
    try:
        with torch.no_grad():
            net(torch.rand(2, 1, 96, 96))
    finally:
        for hook in hooks:
            hook.remove()
    assert {row.name: row.volume for row in network_summary(name).rows} == seen


@pytest.mark.parametrize("name", NAMES)
def test_format_summary(built, name):
    text = format_summary(name)
    lines = text.splitlines()
    assert lines[0] == f"{name}: {NETWORKS[name].description}"
    assert lines[2].split() == ["input", "1", "x", "96", "x", "96"]
    total = lines[-1].split()
    assert total[0] == "total"
    assert int(total[-1].replace(",", "")) == sum(p.numel() for p in built[name].parameters())
    rows = network_summary(name).rows
    assert len(lines) == 1 + 2 + len(rows) + 1
    for line, row in zip(lines[3:-1], rows):
        volume = " x ".join(map(str, row.volume))
        assert re.fullmatch(rf"\s+{row.name}\s+{row.kind}\s+{volume}\s+{row.params:,}", line), line


def test_classic_geometry():
    volumes = {row.name: row.volume for row in network_summary("conv").rows}
    assert volumes["conv1"] == (32, 94, 94)
    assert volumes["pool1"] == (32, 47, 47)
    assert volumes["conv2"] == (64, 46, 46)
    assert volumes["pool2"] == (64, 23, 23)
    assert volumes["conv3"] == (128, 22, 22)
    assert volumes["flatten1"] == (128 * 11 * 11,)


def test_parameter_totals():
    totals = {name: network_summary(name).total for name in NAMES}
    assert totals == {
        "conv": 8_051_502,
        "local": 44_228_910,
        "hybrid": 23_940_270,
        "bnconv": 672_526,
        "bnlocal": 6_478_606,
        "bnheat": 153_983,
    }
    kinds = {name: [row.kind for row in network_summary(name).rows] for name in NAMES}
    assert kinds["local"].count("local") == 3 and "conv" not in kinds["local"]
    assert kinds["hybrid"].count("conv") == 2 and kinds["hybrid"].count("local") == 1
    assert "batchnorm" in kinds["bnconv"]


def test_twins_differ_only_in_the_weight_sharing_of_block_5():
    assert TWINS == ("bnconv", "bnlocal")
    shared, local = (network_summary(name).rows for name in TWINS)
    assert [row.volume for row in shared] == [row.volume for row in local]
    differing = [(a.name, a.kind, b.name, b.kind) for a, b in zip(shared, local) if a.kind != b.kind]
    assert differing == [("conv5", "conv", "local5", "local")]
    # the same filters at each of the 6x6 positions: 36 times conv5's weights, no bias
    conv5 = next(row for row in shared if row.name == "conv5")
    local5 = next(row for row in local if row.name == "local5")
    assert conv5.params == 3 * 3 * 96 * 192 and local5.params == 6 * 6 * conv5.params
    module = build_network("bnlocal")
    assert sum(p.numel() for p in module.local5.parameters()) == local5.params
    assert format_summary("bnlocal").splitlines()[-1].split()[-1] == "6,478,606"


def test_bnconv_trains_in_train_mode():
    torch.manual_seed(1)
    net = build_network("bnconv").train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
    faces, targets = torch.rand(8, 1, 96, 96), torch.rand(8, 30) * 2 - 1
    losses = []
    for _ in range(5):
        loss = nn.functional.mse_loss(net(faces), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_custom_spec_builds_and_runs():
    tiny = Network(
        "tiny",
        "a custom spec",
        (Conv(4, 4, stride=2, padding=1), BatchNorm(), ReLU(), Local(6, 2), Pool(2), GlobalPool(), Dense(30)),
        input_volume=(1, 16, 16),
    )
    net = build_network(tiny)
    assert net(torch.rand(3, 1, 16, 16)).shape == (3, 30)
    assert [row.volume for row in network_summary(tiny).rows] == [
        (4, 8, 8), (4, 8, 8), (4, 8, 8), (6, 7, 7), (6, 3, 3), (6,), (30,)
    ]  # fmt: skip
    assert network_summary(tiny).total == sum(p.numel() for p in net.parameters())


@pytest.fixture
def no_tensors(monkeypatch):
    """Make building any module or tensor fail loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("a module or tensor was made before the geometry was checked")

    monkeypatch.setattr(nn.Module, "__init__", refuse)
    for factory in ("empty", "zeros", "ones", "rand", "randn"):
        monkeypatch.setattr(torch, factory, refuse)


def test_impossible_geometry_refused_before_any_tensor(no_tensors):
    # a fine first layer, then one whose stride does not tile its input
    bad = Network(
        "bad", "impossible", (Conv(8, 3), ReLU(), Local(16, 3, stride=2, name="local2"), Flatten(), Dense(30))
    )
    with pytest.raises(GeometryError) as caught:
        build_network(bad)
    assert str(caught.value) == (
        "layer 'local2': (94 - 3 + 2*0) / 2 + 1 = 46.5 is not a whole number; "
        "choose kernel_size, stride and padding so that it is"
    )
    with pytest.raises(GeometryError, match="layer 'local2'"):
        network_summary(bad)


def test_layers_in_the_wrong_order_refused():
    no_flatten = Network("x", "dense on an image", (Conv(4, 3), Dense(30)))
    with pytest.raises(GeometryError, match=r"layer 'dense1' \(dense\) needs a flat volume \(N,\), got 4 x 94 x 94"):
        build_network(no_flatten)
    conv_after_flatten = Network("x", "conv on a vector", (Flatten(), Conv(4, 3)))
    with pytest.raises(GeometryError, match=r"layer 'conv1' \(conv\) needs an image volume"):
        network_summary(conv_after_flatten)


def test_repeated_layer_names_refused():
    twice = Network("x", "two conv1", (Conv(4, 3), Conv(4, 3, name="conv1")))
    with pytest.raises(KeypointsError, match="repeated: conv1"):
        build_network(twice)


@pytest.mark.parametrize("function", [build_network, network_summary, format_summary, get_network])
def test_unknown_network_refused_listing_names(function):
    with pytest.raises(KeypointsError) as caught:
        function("resnet")
    assert str(caught.value) == "unknown network 'resnet'; known networks: conv, local, hybrid, bnconv, bnlocal, bnheat"
