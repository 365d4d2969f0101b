"""The predictor end to end on photos made in the test: `keypoints predict`, keypoints.csv, index.html.

The network here predicts the mean training keypoints whatever the face (a
real model file: one dense layer with zero weights), so these tests check the
chain around it: detection, framing, the map back to photo pixels, the files
and the messages. The accuracy of a trained network on real photos is checked
in test_predict_photos.py.
"""

import re

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from keypoints.cli import main
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces
from keypoints.data.transforms import scale_keypoints
from keypoints.measure.metrics import nme
from keypoints.model.checkpoint import save_model
from keypoints.networks.build import Network, build_module
from keypoints.networks.layers import Dense, Flatten
from keypoints.predict import load_predictor_model, predict_file, predict_photos
from keypoints.predict.crops.crop import MEAN_KEYPOINTS
from keypoints.predict.detect import make_detector
from keypoints.predict.outputs.files import CSV_COLUMNS

HAAR = ["--detector", "haar"]


@pytest.fixture(scope="module")
def mean_model_file(tmp_path_factory):
    """A model file whose network answers the mean training keypoints for any face."""
    network = Network("mean", "the mean training keypoints, whatever the face", (Flatten(), Dense(30)))
    module = build_module(network)
    with torch.no_grad():
        module[-1].weight.zero_()
        module[-1].bias.copy_(torch.from_numpy(scale_keypoints(MEAN_KEYPOINTS.ravel())))
    return save_model(tmp_path_factory.mktemp("model") / "mean.pt", network, module, {"note": "test"})


@pytest.fixture(scope="module")
def faces():
    """Synthetic faces (N, 1, 96, 96) and their keypoints (N, 15, 2) that the cascade finds when pasted.

    YuNet, made for photographed faces, does not take these drawn ones for faces: the tests here use
    ``--detector haar``; tests/test_predict_detect.py has YuNet on photographed faces."""
    images, keypoints = generate_faces(6, seed=3)
    kept = [1, 2, 3, 5]  # found on every background and at every size from 70 to 180 px (faces 0 and 4 are not)
    return images[kept, 0], keypoints[kept].reshape(-1, 15, 2)


def _paste(canvas, face, x, y, side):
    """Paste a 96x96 gray face at (x, y) resized to ``side``; returns the map of its keypoints to the canvas."""
    canvas[y : y + side, x : x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_LINEAR)[..., None]
    # pixel u of the face lands on x + (u + 0.5) * side / 96 - 0.5, as cv2.resize maps pixel centres
    return lambda points: x + (points + 0.5) * side / 96 - 0.5 + np.array([0, y - x])


def _photo(tmp_path, name, placements, faces, size=(480, 640)):
    """Write a photo with faces pasted at (index, x, y, side); returns the path and the true keypoints."""
    canvas = np.full((*size, 3), 140, np.uint8)
    truths = [_paste(canvas, faces[0][i], x, y, side)(faces[1][i]) for i, x, y, side in placements]
    path = tmp_path / name
    assert cv2.imwrite(str(path), canvas)
    return path, truths


def test_a_pasted_face_is_found_and_its_keypoints_land_on_it(tmp_path, mean_model_file, faces):
    model = load_predictor_model(mean_model_file)
    for i, x, y, side in [(0, 200, 100, 150), (1, 380, 260, 96), (2, 30, 330, 70)]:
        path, (truth,) = _photo(tmp_path, f"face{i}.png", [(i, x, y, side)], faces)
        result = predict_file(path, model, make_detector("haar"))
        assert result.error is None and len(result.faces) == 1
        found = result.faces[0].keypoints
        # The mean face is 0.10-0.23 inter-ocular distances from a given synthetic face;
        # a slip in the framing or the map back would put it whole face widths away.
        assert nme(found, truth) < 0.3
        eyes = np.linalg.norm(found[0] - found[1]) / np.linalg.norm(truth[0] - truth[1])
        assert 0.8 < eyes < 1.25
        assert result.image.shape == (480, 640, 3)


def test_cli_writes_annotated_copies_csv_and_html(tmp_path, mean_model_file, faces, capsys):
    photos = tmp_path / "photos"
    (photos / "<b>x<").mkdir(parents=True)  # with the file b>.png: the path reads photos/<b>x</b>.png
    two, truths = _photo(photos, "two people.jpg", [(0, 60, 120, 150), (1, 380, 100, 180)], faces)
    one, _ = _photo(photos / "<b>x<", "b>.png", [(2, 200, 150, 120)], faces)
    blank = photos / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 400, 3), 200, np.uint8))
    out = tmp_path / "out"
    code = main(["predict", str(photos), "--model", str(mean_model_file), "--out", str(out), *HAAR])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    summary = printed.out.strip().splitlines()[-1]
    assert summary == (
        f"3 photos read, 3 faces found; no face in 1: {blank}; results in {out}/ (index.html, keypoints.csv)"
    )

    table = pd.read_csv(out / "keypoints.csv")
    assert tuple(table.columns) == CSV_COLUMNS
    assert tuple(table.columns[12:]) == KEYPOINT_COLUMNS
    assert tuple(table.columns[6:12]) == ("score", "error_px", "error_eye_share", "yaw", "pitch", "roll")
    # Haar gives no score; this test model has no mirror axis in its card, so no mirror pass and no estimate
    assert table["score"].isna().all() and table["error_px"].isna().all()
    assert table["file"].tolist() == [str(photos / "<b>x</b>.png"), str(two), str(two)]
    assert table["face"].tolist() == [0, 0, 1]
    rows = table[table["file"] == str(two)]
    # reading order: the two faces share a row, so the left one (the smaller) is face 0
    assert rows["box_x"].iloc[0] < rows["box_x"].iloc[1] and rows["box_w"].iloc[0] < rows["box_w"].iloc[1]
    assert np.isfinite(rows[["yaw", "pitch", "roll"]].to_numpy()).all()  # the pose needs no mirror pass
    # each row's keypoints lie on one of the two pasted faces, one row each
    found = rows[list(KEYPOINT_COLUMNS)].to_numpy().reshape(-1, 15, 2)
    matched = sorted(int(np.argmin([nme(f, t) for t in truths])) for f in found)
    assert matched == [0, 1]
    assert all(min(nme(f, t) for t in truths) < 0.3 for f in found)

    written = sorted(p.name for p in out.iterdir())
    assert written == [
        ".keypoints-results",
        "b>.jpg",
        "blank.jpg",
        "faces",
        "index.html",
        "keypoints.csv",
        "two people.jpg",
    ]
    assert cv2.imread(str(out / "two people.jpg")).shape == (480, 640, 3)
    page = (out / "index.html").read_text()
    assert "<b>x</b>" not in page and "/photos/&lt;b&gt;x&lt;/b&gt;.png</h2>" in page
    assert f"<h2>{blank}</h2>" in page and page.count('class="face"') == 3
    assert sorted(re.findall(r'<img class="photo" src="([^"]+)"', page)) == [
        "b%3E.jpg",
        "blank.jpg",
        "two%20people.jpg",
    ]


def test_unreadable_files_are_reported_and_the_rest_processed(tmp_path, mean_model_file, faces, capsys):
    good, _ = _photo(tmp_path, "good.jpg", [(0, 100, 100, 150)], faces)
    (tmp_path / "notes.jpg").write_text("not a photo\n")
    (tmp_path / "empty.jpg").write_bytes(b"")
    whole = good.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    code = main(["predict", str(tmp_path), "--model", str(mean_model_file), "--out", str(out), *HAAR])
    printed = capsys.readouterr()
    assert code == 1
    assert f"error: {tmp_path / 'empty.jpg'}: empty file (0 bytes)" in printed.err
    assert f"error: {tmp_path / 'notes.jpg'}: not an image" in printed.err
    assert f"error: {tmp_path / 'cut.jpg'}: a JPEG file that cannot be decoded: truncated or damaged" in printed.err
    summary = printed.out.strip().splitlines()[-1]
    assert summary.startswith("1 photo read, 1 face found; 3 could not be read: ")
    assert f"{tmp_path / 'empty.jpg'} (empty file (0 bytes); copy the photo again)" in summary
    assert len(pd.read_csv(out / "keypoints.csv")) == 1
    page = (out / "index.html").read_text()
    assert "3 files could not be read" in page and "good.jpg</h2>" in page and "original</a>; 1 face" in page


def test_a_second_run_does_not_read_its_own_results(tmp_path, mean_model_file, faces, capsys):
    _photo(tmp_path, "a.jpg", [(0, 100, 100, 150)], faces)
    args = ["predict", str(tmp_path), "--model", str(mean_model_file), "--out", str(tmp_path / "results"), *HAAR]
    assert main(args) == 0 and main(args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("1 photo read, 1 face found;")


def test_no_photos_exits_2(tmp_path, mean_model_file, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert main(["predict", str(tmp_path), "--model", str(mean_model_file)]) == 2
    assert f"error: no photos in {tmp_path}. Give image files" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "gone")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_missing_model_says_how_to_get_one(tmp_path, faces, capsys, monkeypatch):
    from keypoints import paths

    monkeypatch.setattr(paths, "PREDICTOR_MODEL", tmp_path / "models/default.onnx")
    path, _ = _photo(tmp_path, "a.jpg", [(0, 100, 100, 150)], faces)
    assert main(["predict", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"error: no model file: {tmp_path / 'models/default.onnx'} is missing" in err
    assert "git checkout keypoints/assets/default.onnx" in err and "make train" in err and "--model" in err


class _Trap:
    """Unpickling this would create the file it names."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_model_file_with_code_is_refused_and_runs_nothing(tmp_path, faces, capsys):
    trap, marker = tmp_path / "evil.pt", tmp_path / "ran"
    torch.save({"format": "keypoints-model", "payload": _Trap(marker)}, trap)
    path, _ = _photo(tmp_path, "a.jpg", [(0, 100, 100, 150)], faces)
    assert main(["predict", str(path), "--model", str(trap), "--out", str(tmp_path / "out")]) == 1
    assert f"error: {trap}: not a keypoints model file, or one that carries code" in capsys.readouterr().err
    assert not marker.exists()
    (tmp_path / "foreign.pt").write_bytes(b"PK\x03\x04 not a model")
    assert main(["predict", str(path), "--model", str(tmp_path / "foreign.pt")]) == 1
    assert "not a keypoints model file" in capsys.readouterr().err


def test_predict_photos_returns_a_summary(tmp_path, mean_model_file, faces):
    path, _ = _photo(tmp_path, "a.jpg", [(0, 100, 100, 150), (1, 400, 200, 120)], faces)
    summary = predict_photos([path], mean_model_file, tmp_path / "out", detector="haar")
    assert summary.exit_code == 0 and summary.n_faces == 2
    assert [len(r.faces) for r in summary.results] == [2]
    assert summary.results[0].output == tmp_path / "out/a.jpg" and summary.results[0].size == (640, 480)
