"""Model files: a ``state_dict``, the spec that rebuilds the network, and a model card.

A model file is never a pickled object. It is read with
``torch.load(..., weights_only=True)``, which only accepts tensors and plain
containers, so a file that carries pickled code is refused and runs nothing.
The network is rebuilt from the layer specs stored in the file itself, so a
model keeps loading after the named networks in the code change.
"""

import dataclasses
import math
from pathlib import Path
from typing import NamedTuple

import torch

from keypoints import atomic, paths
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.errors import BrokenModelError, GeometryError, ModelFileError
from keypoints.model.checks import Problem, check_saved, check_weights
from keypoints.networks import get_network
from keypoints.networks.build import Network, build_module, walk
from keypoints.networks.layers import SPEC_KINDS

FORMAT = "keypoints-model"
VERSION = 1


class LoadedModel(NamedTuple):
    """A network rebuilt from a model file, in eval mode.

    Attributes
    ----------
    module : torch.nn.Module
        (B, 1, 96, 96) pixels in [0, 1] -> (B, 30) keypoints in [-1, 1].
    network : Network
        The spec it was built from.
    columns : tuple of str
        The output columns, in order.
    card : dict
        The model card (data, split, epochs, validation RMSE, ...).
    path : Path
    """

    module: torch.nn.Module
    network: Network
    columns: tuple
    card: dict
    path: Path


def network_to_dict(network):
    """A :class:`Network` as plain data (str, int, float, bool, lists and dicts)."""
    return {
        "name": network.name,
        "description": network.description,
        "input_volume": list(network.input_volume),
        "layers": [{"kind": spec.kind, **dataclasses.asdict(spec)} for spec in network.layers],
    }


def network_from_dict(data):
    """Inverse of :func:`network_to_dict`."""
    layers = []
    for layer in data["layers"]:
        layer = dict(layer)
        kind = layer.pop("kind")
        if kind not in SPEC_KINDS:
            raise ModelFileError(f"unknown layer kind {kind!r}; this model needs a newer keypoints")
        layers.append(SPEC_KINDS[kind](**layer))
    return Network(
        name=data["name"],
        description=data["description"],
        layers=tuple(layers),
        input_volume=tuple(data["input_volume"]),
    )


def save_model(path, network, module, card, columns=KEYPOINT_COLUMNS, half=False):
    """Write a model file.

    Parameters
    ----------
    path : str or Path
    network : Network or str
        The spec the module was built from (or its registered name).
    module : torch.nn.Module
    card : dict
        Plain data only: the model card.
    columns : sequence of str
        Output columns, in order.
    half : bool
        Store floating-point weights as float16 (half the size); they are
        turned back into float32 on load.

    Returns
    -------
    Path

    Raises
    ------
    BrokenModelError
        A weight is NaN or infinite; nothing is written.
    ModelFileError
        ``columns`` does not name one column per value the network predicts (such a file could not be loaded);
        nothing is written.
    """
    network = get_network(network) if isinstance(network, str) else network
    columns = list(columns)
    steps = walk(network)
    outputs = math.prod(steps[-1].output_volume if steps else network.input_volume)
    if len(columns) != outputs:
        raise ModelFileError(
            f"{path}: not written: columns lists {len(columns)} names, but the network {network.name!r} predicts "
            f"{outputs} values per face; give one column name per value, in the order of the outputs"
        )
    state = {}
    non_finite = [k for k, v in module.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if non_finite:  # such a file would only give NaN keypoints; the previous file, if any, stays
        raise BrokenModelError(
            f"{path}: not written: {len(non_finite)} weight tensor(s) hold NaN or infinite values "
            f"({', '.join(non_finite[:3])}); training diverged or was given a non-finite setting."
        )
    for key, tensor in module.state_dict().items():
        tensor = tensor.detach().to("cpu")
        state[key] = tensor.half() if half and tensor.is_floating_point() else tensor
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(path) as temporary:  # an interrupted save leaves the previous file whole
        torch.save(
            {
                "format": FORMAT,
                "version": VERSION,
                "network": network_to_dict(network),
                "columns": columns,
                "card": dict(card),
                "state_dict": state,
            },
            temporary,
        )
    return path


def load_model(path=None, device="cpu"):
    """Rebuild a network from a model file alone.

    Parameters
    ----------
    path : str or Path, optional
        None: the shipped model (see :func:`keypoints.paths.model_path`).
    device : str

    Returns
    -------
    LoadedModel

    Raises
    ------
    ModelFileError
        The file is missing, is not one of ours, carries pickled code, or its
        weights do not fit its network.
    """
    path = paths.model_path(path)
    if path.is_dir():
        raise ModelFileError(
            f"{path}: a folder, not a model file; pass the .pt file inside it (e.g. models/bnconv.pt)."
        )
    if not path.is_file() and (path.exists() or path.is_symlink()):
        raise ModelFileError(f"{path}: {atomic.missing_reason(path)}; pass the .pt model file itself.")
    if not path.is_file():
        raise ModelFileError(
            f"{path}: no such model file. Train one with `make train`, "
            "or pass --model with the path of a .pt file it wrote."
        )
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds here; all mean "not a model file of ours"
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(
            f"{path}: not a keypoints model file, or one that carries code, so it was not loaded "
            f"({first_line[:200]}). Use a .pt file written by `keypoints train`."
        ) from error
    # type first: a tensor compared with == gives a tensor, which has no single truth value
    if not isinstance(saved, dict) or not _is_plain(saved.get("format"), FORMAT):
        raise ModelFileError(
            f"{path}: a PyTorch file, but not a keypoints model (no '{FORMAT}' marker). "
            "Use a .pt file written by `keypoints train`."
        )
    if not _is_plain(saved.get("version"), VERSION):
        raise ModelFileError(
            f"{path}: model file version {str(saved.get('version'))[:40]}, this keypoints reads version {VERSION}."
        )
    try:
        check_saved(saved)
        network = network_from_dict(saved["network"])
        module = build_module(network)
        check_weights(saved["state_dict"], module.state_dict())
        state = {k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()}
        module.load_state_dict(state)
        outputs = _output_size(module, network)
        if outputs != len(saved["columns"]):
            raise Problem(
                f"columns lists {len(saved['columns'])} names, but the network predicts {outputs} values; "
                "expected one name per value"
            )
    except Problem as problem:
        raise ModelFileError(
            f"{path}: not a model file keypoints can use: {problem}. Use a .pt file written by `keypoints train`."
        ) from None
    except GeometryError as error:
        raise ModelFileError(f"{path}: the network stored in it cannot be built: {error}") from None
    except ModelFileError as error:
        raise ModelFileError(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ModelFileError(
            f"{path}: the weights do not fit the network stored with them ({' '.join(str(error).split())[:300]})."
        ) from error
    non_finite = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if non_finite:
        raise BrokenModelError(
            f"{path}: {len(non_finite)} weight tensor(s) hold NaN or infinite values ({', '.join(non_finite[:3])}), "
            "so the model is broken: its training diverged or was given a non-finite setting. "
            "Train it again (`keypoints train`) or use another model file."
        )
    module.to(device).eval()
    return LoadedModel(module, network, tuple(saved["columns"]), saved.get("card", {}), path)


def _is_plain(value, expected):
    """Whether ``value`` is ``expected`` and of its very type (not a bool for an int, not a tensor)."""
    return type(value) is type(expected) and value == expected


def _output_size(module, network):
    """Values the network predicts per face, from one pass over a blank input."""
    module.eval()
    with torch.no_grad():
        return int(module(torch.zeros(1, *network.input_volume)).reshape(1, -1).shape[1])


def require_columns(model, use):
    """Refuse a model that does not predict all 30 Kaggle columns, for a use that needs them all.

    Parameters
    ----------
    model : LoadedModel
    use : str
        What needs them, for the message (``"evaluate scores"``).

    Raises
    ------
    ModelFileError
    """
    missing = [c for c in KEYPOINT_COLUMNS if c not in model.columns]
    if missing:
        raise ModelFileError(
            f"{model.path}: predicts {len(model.columns)} columns, not all {len(KEYPOINT_COLUMNS)} that {use} "
            f"(missing {', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}); use a model trained on "
            "every keypoint"
        )
