"""Runs on videos that go wrong: Ctrl-C keeps the earlier results whole and the video so far apart; a video whose
writer cannot be made is that file's failure."""

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints import atomic
from keypoints.cli import main
from keypoints.data.synthetic import generate_faces
from keypoints.measure.clips import make_clip
from keypoints.predict import load_predictor_model, predict_photos
from keypoints.predict.video import pipeline as video_module
from keypoints.predict.video import writer as video_writer

INTERRUPTED_DIR = "interrupted"  # where the manual says an interrupted run goes
STILL = (("hold", 1.0, None),)


@pytest.fixture(scope="module")
def model():
    return load_predictor_model()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder with a photo of a synthetic face and a 1-second clip of it (25 frames)."""
    folder = tmp_path_factory.mktemp("inputs")
    images, keypoints = generate_faces(6, seed=3)
    photo = np.full((128, 128), 140, np.uint8)
    photo[16:112, 16:112] = images[1, 0]
    cv2.imwrite(str(folder / "face.png"), photo)
    clip = make_clip(
        photo,
        keypoints[1].reshape(15, 2) + 16,
        folder / "walk.avi",
        seconds=1.0,
        fps=25.0,
        size=(240, 180),
        face_height=0.75,
        path=STILL,
    )
    return folder / "face.png", clip.path


def files(folder, leave_out=()):
    """Every file under ``folder`` (hidden ones too) as relative path -> bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in leave_out
    }


def stop_drawing_at(monkeypatch, call):
    """Ctrl-C in the drawing of the ``call``-th frame with a face (the frames before it are written)."""
    calls, real = [], video_module.draw_faces

    def draw(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(video_module, "draw_faces", draw)


def frames_in(path):
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_ctrl_c_in_a_video_leaves_the_earlier_results_byte_identical(tmp_path, model, inputs, monkeypatch, capsys):
    photo, clip = inputs
    out = tmp_path / "out"
    earlier = predict_photos([photo, clip], model, out)
    assert earlier.exit_code == 0 and (out / "faces").is_dir() and (out / "face.jpg").is_file()
    before = files(out)
    stop_drawing_at(monkeypatch, 9)
    code = main(["predict", str(photo), str(clip), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 130
    assert files(out, leave_out=[INTERRUPTED_DIR]) == before  # the photo, faces/, the CSV, the page, the marker
    kept = out / INTERRUPTED_DIR
    assert frames_in(kept / "walk.mp4") == 8
    table = pd.read_csv(kept / "keypoints.csv")
    assert list(table.loc[table["file"] == str(clip), "frame"]) == list(range(8))
    assert (kept / "face.jpg").is_file() and (kept / "index.html").is_file()
    assert f"{kept / 'walk.mp4'} plays the 8 frames done, and {kept / 'keypoints.csv'}" in captured.err
    assert f"results in {kept}/" in captured.out
    assert not list(out.glob(atomic.STAGING_PREFIX + "*")) and not list(kept.glob(atomic.STAGING_PREFIX + "*"))


def test_the_next_runs_take_a_folder_with_an_interrupted_run_in_it(tmp_path, model, inputs, monkeypatch):
    photo, clip = inputs
    out = tmp_path / "out"
    stop_drawing_at(monkeypatch, 5)
    first = predict_photos([clip], model, out)
    assert first.interrupted is not None and first.out_dir == out / INTERRUPTED_DIR and first.kept_dir == out
    assert atomic.foreign_entries(out) == []  # its own results folder, not the user's files
    stop_drawing_at(monkeypatch, 12)
    second = predict_photos([clip], model, out)  # replaces the first interrupted run
    assert frames_in(out / INTERRUPTED_DIR / "walk.mp4") == 11 and second.interrupted.frames == 11
    monkeypatch.undo()
    done = predict_photos([photo, clip], model, out)
    assert done.exit_code == 0 and done.interrupted is None and frames_in(out / "walk.mp4") == 25
    assert frames_in(out / INTERRUPTED_DIR / "walk.mp4") == 11  # kept until the user removes it


def test_a_video_whose_writer_cannot_be_made_is_that_files_failure(tmp_path, model, inputs, monkeypatch, capsys):
    photo, clip = inputs
    monkeypatch.setattr(video_writer, "CODEC", "no-such-encoder")  # an FFmpeg built without libx264
    out = tmp_path / "out"
    code = main(["predict", str(clip), str(photo), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"error: {clip}: no annotated video: FFmpeg cannot encode no-such-encoder at 240x180" in captured.err
    assert "UnknownCodecError" in captured.err and "Traceback" not in captured.err
    assert (out / "face.jpg").is_file()  # the photo after it is still done
    table = pd.read_csv(out / "keypoints.csv")
    assert list(table["file"]) == [str(photo)]
    assert not list(out.rglob("*.mp4"))
