"""The two-command setup: make targets, CI script, and where `make train` finds its data."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from keypoints.cli import main
from keypoints.data.loader import load_kaggle_csv
from keypoints.training.trainer import SYNTHETIC_FACES, resolve_data

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in ("setup", "train", "predict", "test", "test-all", "lint", "bench", "data", "clean"):
        assert f"  {target} " in out, out


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_clean_removes_what_its_help_says_and_keeps_data_and_models():
    def run(*args):
        return subprocess.run(["make", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    help_line = next(line for line in run("-s", "help").splitlines() if line.startswith("  clean "))
    assert "keeps data/, models/ and the committed report" in help_line
    commands = run("-n", "clean")
    for removed in (".venv", ".pytest_cache", ".ruff_cache", "results", "data/synthetic", "reports/bench.json"):
        assert removed in commands, commands
    words = commands.replace("data/synthetic", "").split()
    assert not any(w.startswith(("data", "models", "reports/comparison", "reports/figures/learning")) for w in words)


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if not line.startswith("#")]
    assert ci[-2:] == ["make lint", "make test-all"]
    assert "CI (`.ci/run`) runs `make lint` and then `make test-all`" in (ROOT / "README.md").read_text()


def test_training_data_is_found_in_order(tmp_path, capsys):
    explicit = tmp_path / "mine.csv"
    assert resolve_data(str(explicit), data_dir=tmp_path) == (explicit, False)
    (tmp_path / "training.csv.gz").write_bytes(b"")
    assert resolve_data(None, data_dir=tmp_path) == (tmp_path / "training.csv.gz", False)
    (tmp_path / "training.csv").write_text("")
    assert resolve_data(None, data_dir=tmp_path) == (tmp_path / "training.csv", False)


def test_no_data_falls_back_to_synthetic_faces_with_a_notice(tmp_path):
    said = []
    path, synthetic = resolve_data(None, data_dir=tmp_path, say=said.append)
    assert synthetic and path == tmp_path / "synthetic" / "training.csv"
    assert "SYNTHETIC" in said[0] and "make data" in said[0]
    data = load_kaggle_csv(path, use_cache=False)
    assert len(data) == SYNTHETIC_FACES and data.complete.all()


def test_download_without_credentials_says_what_to_do(tmp_path, monkeypatch, capsys):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    assert main(["download", "--out", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No Kaggle credentials were found")
    assert "kaggle.json" in err and "Create New Token" in err and "by hand" in err
    assert not (tmp_path / "data").exists()


def test_download_with_credentials_runs_kaggle_and_unpacks_nested_zips(tmp_path, monkeypatch):
    import zipfile

    from keypoints.data import download

    monkeypatch.setenv("KAGGLE_USERNAME", "ann")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    monkeypatch.setattr(download.shutil, "which", lambda name: "/usr/bin/kaggle")
    out = tmp_path / "data"

    def fake_kaggle(command):
        assert command[1:5] == ["competitions", "download", "-c", "facial-keypoints-detection"]
        inner = out / "training.zip"
        with zipfile.ZipFile(inner, "w") as archive:
            archive.writestr("training.csv", "a,b\n")
        with zipfile.ZipFile(out / "facial-keypoints-detection.zip", "w") as archive:
            archive.write(inner, "training.zip")
            archive.writestr("IdLookupTable.csv", "RowId\n")
        inner.unlink()
        return subprocess.CompletedProcess(command, 0)

    csvs = download.download_competition(out, run=fake_kaggle, say=lambda *a: None)
    assert [p.name for p in csvs] == ["IdLookupTable.csv", "training.csv"]


def test_the_readme_is_a_short_path_and_every_link_of_the_docs_resolves():
    readme = ROOT / "README.md"
    assert len(readme.read_text().splitlines()) <= 200  # the manual and the figures live in docs/
    for document in [readme, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "data").rglob("README.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
            if not target.startswith(("http://", "https://")):
                assert (document.parent / target).exists(), f"{document.relative_to(ROOT)}: {target}"
