"""Checking what a model file holds, field by field, before anything is built from it.

:func:`check_saved` looks at the spec of the network, the output columns and
the model card; :func:`check_weights` compares the stored tensors with those
the rebuilt network needs. Each problem is one message naming the field (as
``network.layers[3].kernel_size`` or ``card.flip_mirror_sum_px``), what was
found and what was expected; :func:`keypoints.model.checkpoint.load_model` puts the
file's name in front.
"""

import dataclasses
import math
import types
import typing

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.networks.layers import SPEC_KINDS

NUMBER = "a number"
WHOLE = "a whole number"
TEXT = "text"
FLAG = "true or false"

CARD_FIELDS = {
    "best_valid_rmse_px": (NUMBER, "the validation RMSE in pixels, such as 1.44"),
    "mean_baseline_rmse_px": (NUMBER, "the mean-face RMSE in pixels, such as 3.77"),
    "jittered_valid_rmse_px": (NUMBER, "the RMSE on jittered faces in pixels, such as 1.49"),
    "flip_mirror_sum_px": (NUMBER, "x + mirrored x of the labels in pixels, such as 97.0"),
    "valid_fraction": (NUMBER, "the share of people kept for validation, from 0 to 1, such as 0.2"),
    "training_seconds": (NUMBER, "seconds, such as 2513.7"),
    "epochs": (WHOLE, "the epochs trained, such as 594"),
    "best_epoch": (WHOLE, "the epoch of the kept weights, such as 534"),
    "seed": (WHOLE, "the seed of the split, such as 0"),
    "synthetic_data": (FLAG, "whether it was trained on synthetic faces"),
    "network": (TEXT, "the network's name, such as 'bnconv'"),
    "data": (TEXT, "the training file's name, such as 'training.csv.gz'"),
    "data_sha256": (TEXT, "64 hex digits"),
}
"""The card fields other code reads, with their kind and what a good value looks like; other fields are notes."""


class Problem(Exception):
    """One thing wrong in a model file (turned into a ``ModelFileError`` naming the file)."""


def check_saved(saved):
    """Check the spec, the columns and the card of a loaded model file.

    Parameters
    ----------
    saved : dict
        What ``torch.load`` gave (its ``format`` and ``version`` already checked).

    Raises
    ------
    Problem
        The first field that is missing or of the wrong kind or value.
    """
    network = _field(saved, "network", dict, "a table with name, description, input_volume and layers")
    _field(network, "name", str, "the network's name, such as 'bnconv'", "network.")
    _field(network, "description", str, "a sentence describing it", "network.")
    volume = _field(
        network, "input_volume", (list, tuple), "[channels, height, width], such as [1, 96, 96]", "network."
    )
    if len(volume) != 3 or not all(_is_whole(v) and v >= 1 for v in volume):
        raise Problem(
            f"network.input_volume is {_shown(volume)}; expected three whole numbers of at least 1 "
            "[channels, height, width], such as [1, 96, 96]"
        )
    layers = _field(network, "layers", (list, tuple), "a list of layers, each a table with its kind", "network.")
    if not layers:
        raise Problem("network.layers is an empty list; expected the network's layers")
    for number, layer in enumerate(layers):
        check_layer(layer, f"network.layers[{number}]")
    columns = _field(saved, "columns", (list, tuple), f"the {len(KEYPOINT_COLUMNS)} output column names")
    if not columns or not all(isinstance(c, str) for c in columns):
        raise Problem(f"columns is {_shown(columns)}; expected a list of column names such as {KEYPOINT_COLUMNS[0]!r}")
    unknown = [c for c in columns if c not in KEYPOINT_COLUMNS]
    if unknown:
        raise Problem(
            f"columns names {_shown(unknown[0])}, which is not a keypoint column; expected names such as "
            f"{KEYPOINT_COLUMNS[0]!r}"
        )
    repeated = [c for c in dict.fromkeys(columns) if columns.count(c) > 1]
    if repeated:
        raise Problem(f"columns lists {repeated[0]!r} {columns.count(repeated[0])} times; expected each column once")
    card = saved.get("card", {})
    if not isinstance(card, dict):
        raise Problem(f"card is {_shown(card)}; expected a table (dict) of the model card's fields")
    for name, (kind, example) in CARD_FIELDS.items():
        if name in card and card[name] is not None and not _is_kind(card[name], kind):
            raise Problem(f"card.{name} is {_shown(card[name])}; expected {kind}: {example}")
    if isinstance(card.get("valid_fraction"), (int, float)) and not 0 <= card["valid_fraction"] <= 1:
        raise Problem(f"card.valid_fraction is {card['valid_fraction']!r}; expected a share from 0 to 1")
    _field(saved, "state_dict", dict, "the network's weights (a table of tensors)")


def check_layer(layer, where):
    """Check one layer's spec: a known kind, known fields, each of its declared type."""
    if not isinstance(layer, dict):
        raise Problem(f"{where} is {_shown(layer)}; expected a table with the layer's kind and settings")
    kind = layer.get("kind")
    if kind not in SPEC_KINDS:
        if isinstance(kind, str):
            raise Problem(
                f"{where}.kind is {kind!r}, a kind of layer this keypoints does not know (it knows "
                f"{', '.join(SPEC_KINDS)}); this model needs a newer keypoints"
            )
        raise Problem(f"{where}.kind is {_shown(kind)}; expected one of {', '.join(SPEC_KINDS)}")
    spec = SPEC_KINDS[kind]
    fields = {f.name: f for f in dataclasses.fields(spec)}
    hints = typing.get_type_hints(spec)
    for name, value in layer.items():
        if name == "kind":
            continue
        if name not in fields:
            raise Problem(
                f"{where} ({kind}) has a field {name!r}, which a {kind} layer does not have ({', '.join(fields)})"
            )
        allowed = _types(hints[name])
        if not _fits(value, allowed):
            raise Problem(f"{where}.{name} ({kind}) is {_shown(value)}; expected {_describe(allowed)}")
    for name, spec_field in fields.items():
        required = spec_field.default is dataclasses.MISSING and spec_field.default_factory is dataclasses.MISSING
        if required and name not in layer:
            raise Problem(f"{where} ({kind}) has no {name!r}; a {kind} layer needs {_describe(_types(hints[name]))}")


def check_weights(stored, needed):
    """Compare the stored tensors with those the rebuilt network needs.

    Parameters
    ----------
    stored : dict of str to Tensor
        The file's ``state_dict``.
    needed : dict of str to Tensor
        ``module.state_dict()`` of the network rebuilt from the file's spec.

    Raises
    ------
    Problem
        Tensors missing, left over, not tensors, or of another shape; the first few are named with both shapes.
    """
    import torch

    problems = []
    for name, tensor in stored.items():
        if not isinstance(tensor, torch.Tensor):
            problems.append(f"{name} is {_shown(tensor)}, not a tensor")
        elif name not in needed:
            problems.append(f"{name} (shape {_shape(tensor)}) is in the file but not in the network")
        elif tensor.shape != needed[name].shape:
            problems.append(f"{name} has shape {_shape(tensor)} in the file; the network needs {_shape(needed[name])}")
    problems += [
        f"{name} (shape {_shape(t)}) is missing from the file" for name, t in needed.items() if name not in stored
    ]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise Problem(f"the weights do not fit the network stored with them: {'; '.join(problems[:3])}{more}")


def _field(table, name, kind, expected, prefix=""):
    if name not in table:
        raise Problem(f"{prefix}{name} is missing; expected {expected}")
    value = table[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise Problem(f"{prefix}{name} is {_shown(value)}; expected {expected}")
    return value


def _types(hint):
    """The runtime types a field annotation allows (``int | None`` -> (int, NoneType))."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(typing.get_args(hint))
    return (hint,)


def _fits(value, allowed):
    for kind in allowed:
        if kind is type(None) and value is None:
            return True
        if kind is bool and isinstance(value, bool):
            return True
        if kind is int and _is_whole(value):
            return True
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return True
        if kind is str and isinstance(value, str):
            return True
    return False


def _describe(allowed):
    words = {int: WHOLE, float: "a finite number", bool: FLAG, str: TEXT, type(None): "none (null)"}
    return " or ".join(words.get(kind, kind.__name__) for kind in allowed)


def _is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_kind(value, kind):
    if kind == NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == WHOLE:
        return _is_whole(value)
    if kind == FLAG:
        return isinstance(value, bool)
    return isinstance(value, str)


def _shape(tensor):
    return " x ".join(str(n) for n in tensor.shape) or "a single number"


_KIND_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true/false",
    list: "a list",
    dict: "a table",
}


def _shown(value):
    """A found value as the message shows it: short, with its kind."""
    if value is None:
        return "empty (None)"
    text = repr(value)
    text = text if len(text) <= 60 else text[:60] + "..."
    return f"{text} ({_KIND_NAMES.get(type(value), type(value).__name__)})"
