"""Model files checked field by field at load: each message names the file, the field, what was found and expected."""

import pytest
import torch
from hostile import labelled_csv, mean_model

from keypoints.cli import main
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.errors import ModelFileError
from keypoints.model.checkpoint import load_model, save_model
from keypoints.networks.build import Network, build_module
from keypoints.networks.layers import Dense, Flatten

TAIL = ". Use a .pt file written by `keypoints train`."


def edited(tmp_path, edit):
    """A mean model file changed by ``edit(saved)``; returns its path."""
    path = mean_model(tmp_path / "model.pt")
    saved = torch.load(path, weights_only=True)
    edit(saved)
    torch.save(saved, path)
    return path


def refusal(path):
    with pytest.raises(ModelFileError) as refused:
        load_model(path)
    return str(refused.value)


def _set(*keys, value):
    def edit(saved):
        table = saved
        for key in keys[:-1]:
            table = table[key]
        table[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("keys", "value", "problem"),
    [
        (
            ("card", "flip_mirror_sum_px"),
            "97 px",
            "card.flip_mirror_sum_px is '97 px' (text); expected a number: x + mirrored x of the labels in pixels, "
            "such as 97.0",
        ),
        (
            ("card", "synthetic_data"),
            "no",
            "card.synthetic_data is 'no' (text); expected true or false: whether it was trained on synthetic faces",
        ),
        (("card", "valid_fraction"), 3.0, "card.valid_fraction is 3.0; expected a share from 0 to 1"),
        (("card",), None, "card is empty (None); expected a table (dict) of the model card's fields"),
        (
            ("network", "layers"),
            None,
            "network.layers is empty (None); expected a list of layers, each a table with its kind",
        ),
        (
            ("network", "input_volume"),
            "96x96",
            "network.input_volume is '96x96' (text); expected [channels, height, width], such as [1, 96, 96]",
        ),
        (
            ("network", "input_volume"),
            [1, 96, 0],
            "network.input_volume is [1, 96, 0] (a list); expected three whole numbers of at least 1 "
            "[channels, height, width], such as [1, 96, 96]",
        ),
        (
            ("network",),
            None,
            "network is empty (None); expected a table with name, description, input_volume and layers",
        ),
        (
            ("columns",),
            [KEYPOINT_COLUMNS[0]] * 30,
            "columns lists 'left_eye_center_x' 30 times; expected each column once",
        ),
        (
            ("columns",),
            ["left_eye_x", *KEYPOINT_COLUMNS[1:]],
            "columns names 'left_eye_x' (text), which is not a keypoint column; expected names such as "
            "'left_eye_center_x'",
        ),
        (
            ("columns",),
            list(KEYPOINT_COLUMNS[:28]),
            "columns lists 28 names, but the network predicts 30 values; expected one name per value",
        ),
        (
            ("network", "layers", 1, "n_out"),
            "30",
            "network.layers[1].n_out (dense) is '30' (text); expected a whole number",
        ),
        (
            ("network", "layers", 1, "units"),
            30,
            "network.layers[1] (dense) has a field 'units', which a dense layer does not have (name, n_out, bias)",
        ),
        (
            ("network", "layers", 0, "kind"),
            None,
            "network.layers[0].kind is empty (None); expected one of conv, "
            "local, pool, globalpool, flatten, dense, relu, batchnorm, dropout, softargmax",
        ),
    ],
)
def test_a_wrong_field_is_named_with_what_was_found_and_expected(tmp_path, keys, value, problem):
    path = edited(tmp_path, _set(*keys, value=value))
    assert refusal(path) == f"{path}: not a model file keypoints can use: {problem}{TAIL}"


def test_weights_of_another_shape_name_the_tensor_and_both_shapes(tmp_path):
    def edit(saved):
        saved["state_dict"]["dense1.weight"] = torch.zeros(30, 100)
        saved["state_dict"]["extra.bias"] = torch.zeros(4)
        del saved["state_dict"]["dense1.bias"]

    path = edited(tmp_path, edit)
    assert refusal(path) == (
        f"{path}: not a model file keypoints can use: the weights do not fit the network stored with them: "
        "dense1.weight has shape 30 x 100 in the file; the network needs 30 x 9216; extra.bias (shape 4) is in the "
        f"file but not in the network; dense1.bias (shape 30) is missing from the file{TAIL}"
    )


def test_a_bad_model_on_the_command_line_ends_with_its_message_and_no_traceback(tmp_path, capsys):
    path = edited(tmp_path, _set("card", "flip_mirror_sum_px", value="97 px"))
    assert main(["predict", str(tmp_path), "--model", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: not a model file keypoints can use: card.flip_mirror_sum_px is '97 px'")
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_evaluate_refuses_a_28_column_model_as_predict_does(tmp_path, capsys):
    network = Network("mean28", "28 of the 30 columns", (Flatten(), Dense(28)))
    path = save_model(tmp_path / "m28.pt", network, build_module(network), {}, columns=KEYPOINT_COLUMNS[:28])
    data = labelled_csv(tmp_path / "training.csv", n=3)
    assert main(["evaluate", "--data", str(data), "--model", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"error: {path}: predicts 28 columns, not all 30 that evaluate scores (missing mouth_center_bottom_lip_x, "
        "mouth_center_bottom_lip_y); use a model trained on every keypoint\n"
    )


@pytest.mark.parametrize("count", [0, 29, 31])
def test_save_refuses_columns_that_do_not_match_the_network_and_writes_nothing(tmp_path, count):
    network = Network("mean", "the mean keypoints", (Flatten(), Dense(30)))
    columns = (KEYPOINT_COLUMNS * 2)[:count]
    with pytest.raises(ModelFileError) as refused:
        save_model(tmp_path / "m.pt", network, build_module(network), {}, columns=columns)
    assert str(refused.value) == (
        f"{tmp_path / 'm.pt'}: not written: columns lists {count} names, but the network 'mean' predicts 30 values "
        "per face; give one column name per value, in the order of the outputs"
    )
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_mismatch_before_replacing_an_earlier_file(tmp_path):
    path = mean_model(tmp_path / "m.pt")
    before = path.read_bytes()
    network = Network("mean28", "28 outputs", (Flatten(), Dense(28)))
    with pytest.raises(ModelFileError, match="columns lists 30 names, but the network 'mean28' predicts 28 values"):
        save_model(path, network, build_module(network), {})
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
