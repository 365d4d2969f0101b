"""keypoints export: every network as ONNX, read by OpenCV, equal to torch, with its model card; nothing overwritten."""

import json

import cv2
import numpy as np
import pytest
import torch

from keypoints import paths
from keypoints.cli import main
from keypoints.errors import ModelFileError, OutputPathError
from keypoints.model import export
from keypoints.model.checkpoint import load_model, save_model
from keypoints.model.export import check_faces, export_model
from keypoints.model.inference import predict_pixels
from keypoints.model.onnx_model import load_onnx_model, read_card, read_metadata
from keypoints.networks import build_network
from keypoints.networks.local import LocallyConnected2d

CARD = {"note": "export test", "flip_mirror_sum_px": 97.0, "best_valid_rmse_px": 1.5, "nested": {"a": [1, 2]}}
BOUND_PX = 1e-3
"""The largest keypoint difference from torch accepted here, in 96-frame pixels (measured: under 1e-4)."""


def _model_file(folder, name):
    """A model file of ``name`` with random weights and batch-norm statistics far from 0 and 1."""
    module = build_network(name)
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.uniform_(-0.2, 0.2)
            layer.running_var.uniform_(0.5, 2.0)
    return save_model(folder / f"{name}.pt", name, module, CARD)


def _exported_matches_torch(tmp_path, name):
    source = _model_file(tmp_path, name)
    done = export_model(source)
    assert done.path == tmp_path / f"{name}.onnx" and done.network == name
    assert 0 <= done.max_difference_px < BOUND_PX
    onnx_model, torch_model = load_onnx_model(done.path), load_model(source)
    assert onnx_model.card == CARD and onnx_model.columns == torch_model.columns
    assert onnx_model.network["name"] == name
    faces = check_faces(7, seed=1)  # other faces than the export checked, at other batch sizes
    expected = predict_pixels(torch_model.module, faces)
    for batch in (1, 3, 7):
        got = predict_pixels(onnx_model.module, faces, batch_size=batch)
        assert got.shape == (7, 30) and got.dtype == np.float32
        assert np.abs(got - expected).max() < BOUND_PX, (name, batch)


@pytest.mark.parametrize("name", ["bnconv", "bnlocal"])
def test_the_twins_export_and_match_torch_in_opencv(tmp_path, name):
    _exported_matches_torch(tmp_path, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["conv", "local", "hybrid"])
def test_the_classic_networks_export_and_match_torch_in_opencv(tmp_path, name):
    _exported_matches_torch(tmp_path, name)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter is no longer the default
@pytest.mark.parametrize("bias", [True, False])
def test_a_strided_padded_locally_connected_layer_loads_in_opencv(tmp_path, bias):
    layer = LocallyConnected2d(3, 4, 3, (9, 7), stride=2, padding=1, bias=bias).eval()
    x = torch.rand(5, 3, 9, 7)
    path = tmp_path / "local.onnx"
    torch.onnx.export(
        layer,
        (x,),
        str(path),
        dynamo=False,
        opset_version=export.OPSET,
        input_names=["x"],
        dynamic_axes={"x": {0: "batch"}},
    )
    net = cv2.dnn.readNetFromONNX(str(path))
    for batch in (1, 5):
        net.setInput(x[:batch].numpy())
        np.testing.assert_allclose(net.forward(), layer(x[:batch]).detach().numpy(), atol=1e-5)


def test_an_existing_output_is_refused_and_replaced_only_with_force(tmp_path, capsys):
    source = _model_file(tmp_path, "bnconv")
    out = tmp_path / "mine.onnx"
    out.write_bytes(b"an earlier export")
    assert main(["export", str(source), "--out", str(out)]) == 1
    assert "exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_bytes() == b"an earlier export"
    assert main(["export", str(source), "--out", str(out), "--force"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out} (bnconv, 2.6 MB)") and "largest keypoint difference" in printed
    assert read_card(out) == CARD
    with pytest.raises(OutputPathError, match="is the input file"):
        export_model(source, out=source, force=True)


def test_an_export_that_differs_from_torch_is_not_written(tmp_path, monkeypatch):
    source = _model_file(tmp_path, "bnconv")
    monkeypatch.setattr(export, "TOLERANCE_PX", -1.0)
    with pytest.raises(ModelFileError, match="differ from torch's by up to .* nothing was written"):
        export_model(source)
    assert not (tmp_path / "bnconv.onnx").exists()


def test_the_metadata_reader_agrees_with_the_onnx_package():
    import onnx

    proto = onnx.load(str(paths.PREDICTOR_MODEL), load_external_data=False)
    expected = {p.key: p.value for p in proto.metadata_props}
    entries = read_metadata(paths.PREDICTOR_MODEL.read_bytes())
    assert {f"keypoints.{k}" for k in entries} == set(expected)
    assert entries["columns"] == list(load_onnx_model(paths.PREDICTOR_MODEL).columns)


def test_the_shipped_onnx_is_exported_from_the_shipped_pt():
    import hashlib

    entries = read_metadata(paths.PREDICTOR_MODEL.read_bytes())
    assert entries["source_sha256"] == hashlib.sha256(paths.DEFAULT_MODEL.read_bytes()).hexdigest(), (
        "default.pt changed: export it again with `keypoints export keypoints/assets/default.pt --force`"
    )
    assert entries["card"] == json.loads(json.dumps(load_model(paths.DEFAULT_MODEL).card))  # tuples as lists
    assert entries["max_difference_px"] < BOUND_PX


def test_files_that_are_not_exported_models_are_refused_with_the_reason(tmp_path):
    from keypoints.predict.detect.yunet import MODEL_FILE

    with pytest.raises(ModelFileError, match="without the keypoints model card"):
        load_onnx_model(paths.ASSETS / "yunet" / MODEL_FILE)  # a real ONNX file, not ours
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(paths.PREDICTOR_MODEL.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="not an ONNX model file, or a damaged one"):
        load_onnx_model(broken)
    with pytest.raises(ModelFileError, match="no such model file. Write one with `keypoints export"):
        load_onnx_model(tmp_path / "missing.onnx")
