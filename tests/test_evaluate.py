"""evaluate: it knows the model's own training file, --split valid reproduces the card, --json is JSON alone;
evaluate-photos; predict warns about a model its card does not vouch for."""

import json

import cv2
import numpy as np
import pytest
import torch

from keypoints.cli import main
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces, write_synthetic_csv
from keypoints.data.transforms import scale_keypoints
from keypoints.model.checkpoint import save_model
from keypoints.networks import Dense, Flatten, Network
from keypoints.networks.build import build_module
from keypoints.predict.crops.crop import MEAN_KEYPOINTS
from keypoints.training.trainer import file_sha256, prepare


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    return write_synthetic_csv(folder / "training.csv", 60, seed=1), write_synthetic_csv(
        folder / "other.csv", 20, seed=2
    )


def _mean_model(path, card):
    """A network that answers MEAN_KEYPOINTS for any face, saved with the given card."""
    network = Network("mean", "the mean keypoints, whatever the face", (Flatten(), Dense(30)))
    module = build_module(network)
    with torch.no_grad():
        module[-1].weight.zero_()
        module[-1].bias.copy_(torch.from_numpy(scale_keypoints(MEAN_KEYPOINTS.ravel())))
    return save_model(path, network, module, card)


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    card = {"data": "training.csv", "data_sha256": file_sha256(data[0]), "seed": 3, "valid_fraction": 0.25}
    card |= {"best_valid_rmse_px": 2.5, "synthetic_data": True, "mean_baseline_rmse_px": 2.0}
    return _mean_model(tmp_path_factory.mktemp("model") / "mean.pt", card)


def test_evaluate_on_the_training_file_says_so_and_json_is_alone_on_stdout(data, model, capsys):
    assert main(["evaluate", "--data", str(data[0]), "--model", str(model), "--json"]) == 0
    printed = capsys.readouterr()
    figures = json.loads(printed.out)  # the whole of stdout is one JSON object
    assert figures["trained_on_this_file"] is True and figures["n_faces"] == 60
    assert f"note: {data[0]} is the file {model} was trained on (its SHA-256 matches the card)" in printed.err
    assert "never saw is 2.5 px: `--split valid` reproduces it" in printed.err
    assert f"RMSE {figures['rmse']:.3f} px" in printed.err


def test_split_valid_scores_the_validation_faces_of_the_cards_seed_and_fraction(data, model, capsys):
    assert main(["evaluate", "--data", str(data[0]), "--model", str(model), "--split", "valid", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    split = prepare(data[0], valid_fraction=0.25, seed=3, say=lambda text: None)
    expected = np.sqrt(np.nanmean((split.valid_keypoints - MEAN_KEYPOINTS.ravel()) ** 2))
    assert figures["n_faces"] == len(split.valid_images) == 15
    assert figures["rmse"] == pytest.approx(expected, rel=1e-5)
    assert set(figures["per_keypoint"]) == {c[:-2] for c in KEYPOINT_COLUMNS}


def test_another_file_gets_no_note_and_split_valid_is_refused(data, model, capsys):
    assert main(["evaluate", "--data", str(data[1]), "--model", str(model)]) == 0
    printed = capsys.readouterr()
    assert "note:" not in printed.out + printed.err and "20 faces, every labelled face" in printed.out
    assert main(["evaluate", "--data", str(data[1]), "--model", str(model), "--split", "valid"]) == 1
    err = capsys.readouterr().err
    assert f"error: {data[1]}: --split valid scores the validation people of the run that trained {model}" in err
    assert "Pass that file, or leave out --split." in err


def test_predict_warns_when_the_card_says_synthetic_or_no_better_than_the_mean(tmp_path, model, capsys):
    images, _ = generate_faces(1, seed=0)
    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), cv2.resize(images[0, 0], (200, 200)))
    assert main(["predict", str(photo), "--model", str(model), "--out", str(tmp_path / "out"), "--no-images"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {model} was trained on synthetic faces" in err
    assert "2.50 px, is no better than predicting the training mean (2.00 px)" in err


def write_labelled_folder(folder):
    """Two synthetic faces the cascade finds, pasted on canvases, and a blank photo, with their keypoints."""
    folder.mkdir(parents=True, exist_ok=True)
    images, keypoints = generate_faces(6, seed=3)
    rows = []
    for i in (1, 2):  # faces the cascade finds when pasted (see test_predict.py)
        canvas = np.full((400, 400, 3), 140, np.uint8)
        side, x, y = 150, 100, 120
        canvas[y : y + side, x : x + side] = cv2.resize(images[i, 0], (side, side))[..., None]
        truth = x + (keypoints[i].reshape(15, 2) + 0.5) * side / 96 - 0.5 + np.array([0, y - x])
        cv2.imwrite(str(folder / f"p{i}.png"), canvas)
        rows.append(f"p{i}.png," + ",".join(f"{v:.3f}" for v in truth.ravel()))
    blank = np.full((300, 300, 3), 200, np.uint8)
    cv2.imwrite(str(folder / "blank.png"), blank)
    rows.append("blank.png," + ",".join(f"{v:.3f}" for v in (MEAN_KEYPOINTS + 100).ravel()))
    (folder / "keypoints.csv").write_text("file," + ",".join(KEYPOINT_COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return folder


def test_evaluate_photos_scores_found_faces_against_true_keypoints(tmp_path, model, capsys):
    write_labelled_folder(tmp_path)
    assert main(["evaluate-photos", str(tmp_path), "--model", str(model), "--json"]) == 0
    printed = capsys.readouterr()
    figures = json.loads(printed.out)
    assert (figures["n_photos"], figures["n_found"]) == (3, 2)
    assert [p["found"] for p in figures["photos"]] == [True, True, False]
    assert 0 < figures["nme"] < 0.3 and figures["nme"] == pytest.approx(
        np.mean([p["nme"] for p in figures["photos"][:2]])
    )
    assert f"2 of 3 faces found; NME {figures['nme']:.4f}" in printed.err
    assert figures["convention"] == "labels" and "of the 96x96 crop, labels as drawn" in printed.err


def test_evaluate_photos_moves_a_known_sets_labels_only_when_asked(tmp_path, model, capsys):
    folder = write_labelled_folder(tmp_path / "fgnet")
    figures = {}
    for convention in ("labels", "human"):
        assert main(["evaluate-photos", str(folder), "--model", str(model), "--json", "--convention", convention]) == 0
        printed = capsys.readouterr()
        figures[convention] = json.loads(printed.out)
    assert figures["labels"]["convention"] == "labels" and figures["human"]["convention"] == "human"
    assert "labels moved into the human convention" in printed.err
    assert figures["human"]["nme"] != pytest.approx(figures["labels"]["nme"], abs=1e-4)
    # a folder of another name has no measured offset: scored as drawn either way
    mine = write_labelled_folder(tmp_path / "mine")
    assert main(["evaluate-photos", str(mine), "--model", str(model), "--json", "--convention", "human"]) == 0
    assert json.loads(capsys.readouterr().out)["convention"] == "labels"


def test_without_data_the_training_file_is_looked_for_and_a_miss_says_where(data, model, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEYPOINTS_DATA_DIR", raising=False)
    monkeypatch.setattr("keypoints.paths.KAGGLE_INPUT_DIR", tmp_path / "kaggle")
    assert main(["evaluate", "--model", str(model)]) == 1
    assert "error: no training file (training.csv, training.csv.gz" in capsys.readouterr().err
    monkeypatch.setenv("KEYPOINTS_DATA_DIR", str(data[0].parent))
    assert main(["evaluate", "--model", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == str(data[0])
    assert main(["evaluate", "--data", str(data[0].parent), "--model", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_faces"] == 60
