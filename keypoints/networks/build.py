"""Walk a network spec: once to check and summarise it, once more to build it.

:func:`walk` follows the volumes from the input through every layer spec with
the geometry arithmetic alone, so an impossible network is refused, naming
the layer, before a single weight is allocated. :func:`build_module` and
:func:`summarise` both start from that walk, so the printed summary is the
network that runs. The registry of named networks is in
:mod:`keypoints.networks.specs`.
"""

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from torch import nn

from keypoints.data.schema import IMAGE_SIZE
from keypoints.errors import KeypointsError
from keypoints.networks.layers import format_volume


@dataclass(frozen=True)
class Network:
    """A network described once, as a sequence of layer specs.

    Attributes
    ----------
    name : str
    description : str
        One line: what the network is and why it exists.
    layers : tuple of LayerSpec
    input_volume : tuple of int
        ``(D, H, W)`` of one input; a 96x96 gray face by default.
    """

    name: str
    description: str
    layers: tuple
    input_volume: tuple = (1, IMAGE_SIZE, IMAGE_SIZE)


class SummaryRow(NamedTuple):
    """One layer of a summary."""

    name: str
    kind: str
    volume: tuple
    """Output volume: ``(D, H, W)``, or ``(N,)`` once flat; the batch axis is left out."""
    params: int


class Summary(NamedTuple):
    """A network's layers and its total number of parameters."""

    network: Network
    rows: list
    total: int


class Step(NamedTuple):
    """One layer of a walk: its spec and name, volumes in and out, parameter count."""

    spec: object
    name: str
    input_volume: tuple
    output_volume: tuple
    params: int


def walk(network):
    """Follow the volumes through a network spec, checking every layer.

    Parameters
    ----------
    network : Network

    Returns
    -------
    list of Step

    Raises
    ------
    GeometryError
        At the first layer whose geometry is impossible, naming it.
    KeypointsError
        If two layers have the same name.
    """
    volume = tuple(network.input_volume)
    steps = []
    for spec, name in zip(network.layers, layer_names(network.layers)):
        output = tuple(spec.output(volume, name))
        steps.append(Step(spec, name, volume, output, spec.params(volume, name)))
        volume = output
    return steps


def layer_names(layers):
    """Names of the layers: the spec's own ``name``, else its kind and a count (``conv2``).

    Raises
    ------
    KeypointsError
        If two layers end up with the same name.
    """
    counts = defaultdict(int)
    names = []
    for spec in layers:
        counts[spec.kind] += 1
        names.append(spec.name or f"{spec.kind}{counts[spec.kind]}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise KeypointsError(f"every layer needs its own name; repeated: {', '.join(repeated)}")
    return names


def build_module(network):
    """The ``nn.Sequential`` of a network spec, children named as in its summary.

    The module keeps its spec as ``module.network``, so what is derived from
    the spec later (the fully-convolutional form) needs only the module.

    Raises
    ------
    GeometryError
        If a layer's geometry is impossible; raised before any module is made.
    """
    steps = walk(network)  # every layer checked before any weight is allocated
    module = nn.Sequential(OrderedDict((step.name, step.spec.module(step.input_volume, step.name)) for step in steps))
    module.network = network
    return module


def summarise(network):
    """The :class:`Summary` of a network spec, computed without building it."""
    rows = [SummaryRow(step.name, step.spec.kind, step.output_volume, step.params) for step in walk(network)]
    return Summary(network, rows, sum(row.params for row in rows))


def summary_text(summary):
    """A :class:`Summary` as an aligned table: title, input, one line per layer, total."""
    network = summary.network
    table = [("layer", "kind", "output volume", "parameters")]
    table.append(("input", "", format_volume(network.input_volume), ""))
    table += [(r.name, r.kind, format_volume(r.volume), f"{r.params:,}") for r in summary.rows]
    table.append(("total", "", "", f"{summary.total:,}"))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [f"{network.name}: {network.description}"]
    for name, kind, volume, params in table:
        line = f"  {name:<{widths[0]}}  {kind:<{widths[1]}}  {volume:<{widths[2]}}  {params:>{widths[3]}}"
        lines.append(line.rstrip())
    return "\n".join(lines)
