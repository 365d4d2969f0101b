"""Writes are atomic: an interrupted write or run leaves the previous complete results; one run per --out."""

import os
import subprocess
import sys

import pytest
import torch
from hostile import mean_model, photo

from keypoints import atomic
from keypoints.errors import OutputPathError
from keypoints.model.checkpoint import load_model, save_model
from keypoints.predict import batch, predict_photos


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return mean_model(tmp_path_factory.mktemp("model") / "mean.pt")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = atomic.write_text(tmp_path / "report.md", "old\n")
    with pytest.raises(RuntimeError), atomic.replacing(target) as temporary:
        temporary.write_text("half of the new")
        raise RuntimeError("stopped")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_an_interrupted_model_save_keeps_the_previous_model(tmp_path, model, monkeypatch):
    path = tmp_path / "net.pt"
    path.write_bytes(model.read_bytes())

    def interrupted(obj, file, *args, **kwargs):
        open(file, "wb").write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, load_model(model).network, load_model(model).module, {})
    assert load_model(path).card == {"note": "test"}
    assert [p.name for p in tmp_path.iterdir()] == ["net.pt"]


def test_a_predict_run_stopped_halfway_leaves_the_previous_results(tmp_path, model, monkeypatch):
    (tmp_path / "in").mkdir()
    photos = [photo(tmp_path / "in" / f"{k}.png") for k in range(3)]
    out = tmp_path / "out"
    predict_photos([tmp_path / "in"], model, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    photo(photos[0], value=30)  # the next run would draw another image
    real, calls = batch.predict_file, []

    def stop_at_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "predict_file", stop_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        predict_photos([tmp_path / "in"], model, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no staging folder, no lock, no new image


def test_a_second_run_into_a_locked_folder_is_refused_and_a_stale_lock_taken_over(tmp_path, model):
    photo(tmp_path / "a.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / atomic.LOCK_NAME).write_text(f"{os.getppid()}\n")  # a live process holds it
    with pytest.raises(OutputPathError, match=rf"another keypoints run \(pid {os.getppid()}\)"):
        predict_photos([tmp_path / "a.jpg"], model, out)
    assert sorted(p.name for p in out.iterdir()) == [atomic.LOCK_NAME]
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / atomic.LOCK_NAME).write_text(gone.stdout)  # its holder has exited
    predict_photos([tmp_path / "a.jpg"], model, out)
    assert sorted(p.name for p in out.iterdir()) == [".keypoints-results", "a.jpg", "index.html", "keypoints.csv"]


def test_an_output_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(OutputPathError, match="taken is a file, so no folder can be made there"):
        atomic.check_output_folder(tmp_path / "taken" / "sub", "--models-dir")
    with pytest.raises(OutputPathError, match="--reports-dir .*taken: a file, not a folder"):
        atomic.check_output_folder(tmp_path / "taken", "--reports-dir")
