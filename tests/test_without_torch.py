"""The predictor without torch: photos, videos and Predictor() run with torch imports blocked; commands that need
torch say how to get it."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keypoints import paths
from keypoints.data.synthetic import generate_faces
from keypoints.measure.clips import make_clip

ROOT = Path(__file__).resolve().parent.parent

BLOCK_TORCH = """
import sys

class NoTorch:
    # an environment without torch: any import of it fails as it would there
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "skorch", "onnx"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name.split(".")[0])

sys.meta_path.insert(0, NoTorch())
"""

REPORT = """
import json
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "skorch", "onnx", "sklearn", "matplotlib"))
print("REPORT " + json.dumps({"codes": codes, "heavy": heavy}))
"""


def _run_blocked(code, cwd):
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + code + REPORT],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT ")), done


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    shutil.copy(ROOT / "data" / "samples" / "grace_hopper.jpg", folder / "photo.jpg")
    images, keypoints = generate_faces(2, seed=3)
    photo = np.full((128, 128), 140, np.uint8)
    photo[16:112, 16:112] = images[1, 0]
    make_clip(photo, keypoints[1].reshape(15, 2) + 16, folder / "clip.avi", seconds=1.0, fps=25.0, size=(240, 180))
    return folder


def test_photos_videos_and_the_predictor_run_without_torch(inputs, tmp_path):
    code = f"""
from keypoints.cli import main
import keypoints
codes = [main(["predict", "photo.jpg", "clip.avi", "--out", {str(tmp_path / "out")!r}])]
faces = keypoints.Predictor()("photo.jpg")
codes.append(len(faces))
print("KEYPOINTS", faces.keypoints.shape)
"""
    report, done = _run_blocked(code, inputs)
    assert report == {"codes": [0, 1], "heavy": []}, done.stderr[-2000:]
    assert "KEYPOINTS (1, 15, 2)" in done.stdout
    # a drawn face, not a photo: the shipped model may lose and find it again, so any count of tracks
    assert re.search(r"clip.avi: \d+ frames, \d+ face tracks?, ", done.stdout), done.stdout
    assert (tmp_path / "out" / "keypoints.csv").is_file() and (tmp_path / "out" / "index.html").is_file()


def test_commands_that_need_torch_say_how_to_install_it(inputs, tmp_path):
    code = f"""
from keypoints.cli import main
codes = [
    main(["train", "--epochs", "1"]),
    main(["export", {str(paths.DEFAULT_MODEL)!r}, "--out", {str(tmp_path / "x.onnx")!r}]),
    main(["predict", "photo.jpg", "--model", {str(paths.DEFAULT_MODEL)!r}, "--out", {str(tmp_path / "o")!r}]),
    main(["summary", "bnconv"]),
]
"""
    report, done = _run_blocked(code, inputs)
    assert report["codes"] == [1, 1, 1, 1] and report["heavy"] == []
    errors = done.stderr
    assert "error: `keypoints train` needs torch, which is not installed here" in errors
    assert "error: `keypoints export` needs torch" in errors and "error: `keypoints summary` needs torch" in errors
    assert errors.count('pip install "keypoints[train]"') == 4
    assert "default.pt: a PyTorch model file, and PyTorch is not installed here" in errors
    assert "Traceback" not in errors
    assert not (tmp_path / "x.onnx").exists()


def test_the_shipped_card_reads_without_torch(inputs):
    code = f"""
from keypoints.model.onnx_model import read_card
card = read_card({str(paths.PREDICTOR_MODEL)!r})
codes = [card["best_valid_rmse_px"]]
"""
    report, _ = _run_blocked(code, inputs)
    from keypoints.model.checkpoint import load_model

    assert report["codes"] == [load_model(paths.DEFAULT_MODEL).card["best_valid_rmse_px"]]
    assert report["heavy"] == []
