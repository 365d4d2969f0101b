"""The command line answers --help without torch; the wheel installs and predicts from another folder."""

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pandas as pd
import pytest

from keypoints import __version__
from keypoints.cli import NETWORK_NAMES, _parser

ROOT = Path(__file__).resolve().parent.parent

NO_TORCH = """import sys


class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name="torch")


sys.meta_path.insert(0, NoTorch())
"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **extra}


def _seconds(command, repeats=3, **kwargs):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, **kwargs)
        best = min(best, time.perf_counter() - started)
    return best


def test_the_parser_lists_the_networks_without_importing_them():
    from keypoints.networks import NETWORKS

    assert NETWORK_NAMES == tuple(NETWORKS)


def test_no_help_imports_torch():
    commands = [name for name in _parser()._subparsers._group_actions[0].choices]
    assert {"predict", "evaluate", "evaluate-photos", "train"} <= set(commands)
    code = (
        "import sys\nfrom keypoints.cli import main\n"
        f"for argv in [['--help'], *[[c, '--help'] for c in {commands!r}]]:\n"
        "    try:\n        main(argv)\n    except SystemExit as e:\n        assert e.code == 0, argv\n"
        "print('TORCH', 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("TORCH False")
    assert "evaluate-photos" in done.stdout and "--no-images" in done.stdout


@pytest.mark.slow
def test_help_answers_in_a_fraction_of_a_torch_import():
    env = _env(PYTHONPATH=str(ROOT))
    torch_import = _seconds([sys.executable, "-c", "import torch"], repeats=1, env=env)
    help_time = _seconds([sys.executable, "-m", "keypoints", "predict", "--help"], env=env)
    assert help_time < 0.5 * torch_import, (help_time, torch_import)


def test_version(capsys):
    from keypoints.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"keypoints {__version__}\n"


@pytest.mark.slow
def test_the_wheel_installs_and_predicts_from_another_folder(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "keypoints", source / "keypoints", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("keypoints-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    # the dependencies (torch, OpenCV, ...) come from this environment, not a download
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ROOT / "data" / "samples" / "grace_hopper.jpg", elsewhere / "photo.jpg")
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import keypoints, keypoints.paths as p; print(keypoints.__file__); print(p.DEFAULT_MODEL)",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_env(),
        check=True,
    ).stdout.split()
    assert all(line.startswith(site) for line in where), where  # the installed copy, not the source tree
    keypoints = venv / "bin" / "keypoints"
    # torch is in the environment the dependencies come from: block it, as a plain install has none
    blocker = tmp_path / "no_torch"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_TORCH)
    done = subprocess.run(
        [str(keypoints), "predict", "photo.jpg", "--json"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_env(PYTHONPATH=str(blocker)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 photo read, 1 face found" in done.stdout
    table = pd.read_csv(elsewhere / "results" / "keypoints.csv")
    assert len(table) == 1 and table["file"].tolist() == ["photo.jpg"]
    assert (elsewhere / "results" / "index.html").is_file() and (elsewhere / "results" / "results.json").is_file()
    assert not (Path(site) / "results").exists() and not (Path(site) / "models").exists()


def test_data_is_looked_for_in_data_then_the_environment_then_kaggle(tmp_path, monkeypatch):
    from keypoints import paths

    monkeypatch.chdir(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("KEYPOINTS_DATA_DIR", str(shared))
    assert paths.data_dirs("given") == [Path("given"), Path("data"), shared, paths.KAGGLE_INPUT_DIR]
    assert paths.find_training_file(None) is None
    (shared / "training.csv.gz").write_bytes(b"")
    assert paths.find_training_file(None) == shared / "training.csv.gz"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "training.zip").write_bytes(b"")
    assert paths.find_training_file(None) == Path("data") / "training.zip"  # ./data/ comes first
    assert paths.find_training_file(shared) == shared / "training.csv.gz"  # one folder when named


def test_outputs_default_to_the_current_folder_and_the_model_to_the_package():
    from keypoints import paths

    for relative in (paths.RESULTS_DIR, paths.MODELS_DIR, paths.REPORTS_DIR, paths.DATA_DIR, paths.SUBMISSION_FILE):
        assert not relative.is_absolute()
    assert paths.DEFAULT_MODEL.is_file() and paths.DEFAULT_MODEL.parent == ROOT / "keypoints" / "assets"
    assert paths.PREDICTOR_MODEL.is_file() and paths.PREDICTOR_MODEL.parent == paths.DEFAULT_MODEL.parent
    assert paths.MODEL_CARD.is_file() and "terms" in paths.MODEL_CARD.read_text()


def test_the_plain_install_is_the_predictor_and_train_adds_torch():
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {re.split(r"[<>=!\[ ]", r, maxsplit=1)[0] for r in requirements}

    # av writes the annotated videos as H.264, which browsers play
    assert names(project["dependencies"]) == {"numpy", "opencv-python-headless", "pandas", "tqdm", "av"}
    train = project["optional-dependencies"]["train"]
    assert "torch==2.13.0" in train and {"skorch", "onnx", "scikit-learn", "matplotlib"} <= names(train)
    assert '".[train,test]"' in (ROOT / "Makefile").read_text()  # make train and make test set all up
