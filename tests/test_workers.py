"""--workers: photos predicted by several threads give the same files, rows and keypoints, in the same order."""

import hashlib
import json
import re
import signal
import subprocess
import sys
import threading
import time

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints import atomic, paths
from keypoints.cli import main
from keypoints.data.synthetic import generate_faces
from keypoints.measure.clips import make_clip
from keypoints.measure.labelled import labelled_photos
from keypoints.measure.metrics import nme
from keypoints.predict import batch, load_predictor_model, predict_photos
from keypoints.predict.detect import make_detector
from keypoints.predict.photo.workers import check_workers, model_copy, ordered_map
from keypoints.predict.video import pipeline as video_module
from keypoints.predict.video.pipeline import predict_video
from keypoints.predict.video.writer import H264Writer


@pytest.fixture(scope="module")
def model():
    if not paths.PREDICTOR_MODEL.is_file():
        pytest.skip(f"{paths.PREDICTOR_MODEL} is missing: `git checkout keypoints/assets/default.onnx`")
    return load_predictor_model()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Eight photos of synthetic faces of several sizes, and an unreadable one among them (``d_broken.jpg``)."""
    folder = tmp_path_factory.mktemp("photos")
    images, _ = generate_faces(8, seed=5)
    for k, face in enumerate(images[:, 0]):
        side = 96 + 24 * (k % 3)
        photo = np.full((side + 60, side + 80), 120 + 10 * k, np.uint8)
        photo[30 : 30 + side, 40 : 40 + side] = cv2.resize(face, (side, side))
        cv2.imwrite(str(folder / f"{'abcefghi'[k]}_{k}.png"), photo)
    (folder / "d_broken.jpg").write_bytes(b"\xff\xd8\xff this is no JPEG")
    return folder


def _files(out):
    """Every file of a results folder -> its bytes; the page's and the JSON's times of writing left out."""
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "results.json":
            record = json.loads(data)
            record.pop("created")
            data = json.dumps(record).encode()
        elif path.name == "index.html":
            data = re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d UTC", b"", data)
        files[path.relative_to(out).as_posix()] = data
    return files


def test_several_workers_write_the_same_files_rows_and_keypoints_in_the_same_order(tmp_path, model, folder):
    one = predict_photos([folder], model, tmp_path / "one", json=True, workers=1)
    three = predict_photos([folder], model, tmp_path / "three", json=True, workers=3)
    assert [r.path.name for r in three.results] == [r.path.name for r in one.results]
    assert [r.path.name for r in one.results][3] == "d_broken.jpg"  # the unreadable photo, reported in its place
    assert three.results[3].error == one.results[3].error and one.results[3].error.startswith(str(folder))
    assert one.n_faces == three.n_faces >= 6
    for a, b in zip(one.results, three.results):
        assert len(a.faces) == len(b.faces)
        for face_a, face_b in zip(a.faces, b.faces):
            np.testing.assert_array_equal(face_a.keypoints, face_b.keypoints)
    written = _files(tmp_path / "one")
    assert _files(tmp_path / "three") == written  # same CSV bytes, annotated photos, crops, JSON, page
    assert "keypoints.csv" in written and any(name.startswith("faces/") for name in written)
    assert three.line() == one.line().replace(str(tmp_path / "one"), str(tmp_path / "three"))
    assert three.exit_code == one.exit_code == 1


def test_ctrl_c_during_a_run_on_several_workers_leaves_the_previous_results_whole(tmp_path, model, folder, monkeypatch):
    out = tmp_path / "out"
    predict_photos([folder], model, out, workers=2)
    before = _files(out)
    real, calls = batch.predict_file, []

    def stop_at_the_fifth(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "predict_file", stop_at_the_fifth)
    code = main(["predict", str(folder), "--out", str(out), "--workers", "2"])
    assert code == 130
    assert _files(out) == before  # no staging folder, no lock, no new file
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [atomic.MARKER_NAME]
    assert all(name.startswith("keypoints-worker-") for name in calls)  # the photos went to the workers
    assert not [t for t in threading.enumerate() if t.name.startswith("keypoints-worker-")]  # and they ended


def test_workers_keep_the_order_of_items_that_finish_out_of_order():
    def slow_first(item):
        time.sleep(0.02 if item % 3 == 0 else 0.0)
        return item * 10

    assert list(ordered_map([slow_first, slow_first], range(12))) == [k * 10 for k in range(12)]


def test_workers_start_at_most_their_number_and_two_more_before_the_next_result_is_taken():
    started, lead = [], []

    def record(item):
        started.append(item)
        return item

    for taken, item in enumerate(ordered_map([record, record], range(20), ahead=2)):
        time.sleep(0.005)  # a slow caller: the workers run ahead as far as they may
        lead.append(len(started) - (taken + 1))  # started and not yet given to the caller
        assert item == taken
    assert max(lead) == 4  # 2 workers + 2 ahead: the photos in memory stay bounded


def test_an_error_for_one_item_is_raised_in_its_turn_and_the_workers_stop():
    started = []

    def fail_on_three(item):
        started.append(item)
        if item == 3:
            raise ValueError("photo 3 broke")
        time.sleep(0.01)
        return item

    results = ordered_map([fail_on_three] * 2, range(100))
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="photo 3 broke"):
        next(results)
    assert len(started) <= 3 + 1 + 2 + 2  # nothing started beyond the bound, and nothing after the error
    assert not [t for t in threading.enumerate() if t.name.startswith("keypoints-worker-")]


def test_copies_for_other_threads_have_their_own_opencv_objects(model):
    twin = model_copy(model)
    assert twin.module.net is not model.module.net and twin.columns == model.columns
    for name in ("yunet", "haar"):
        detector = make_detector(name, upsample=2)
        copy = detector.copy()
        assert copy is not detector and copy.upsample == 2 and copy.min_score == detector.min_score
        assert getattr(copy, "net", None) is not getattr(detector, "net", None) or name == "haar"
    faces = np.zeros((2, 1, 96, 96), np.uint8)
    np.testing.assert_array_equal(twin.module.predict_pixels(faces), model.module.predict_pixels(faces))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, 65])
def test_a_number_of_workers_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="workers must be a whole number from 1 to 64"):
        check_workers(bad)


def test_the_workers_option_is_checked_at_parse_time(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "x.jpg", "--workers", "0"])
    assert "argument --workers: '0' is out of range: --workers (photos predicted at once)" in capsys.readouterr().err


@pytest.mark.shared_data
def test_the_nme_on_the_labelled_photos_is_the_same_on_two_workers(tmp_path, model, shared_data_dir):
    photos = shared_data_dir.parent / "photos"
    if not (photos / "keypoints.csv").is_file():
        pytest.skip(f"{photos}/keypoints.csv is not there: the labelled photos sit beside the data folder")
    truth = {name: points for name, _, points in labelled_photos(photos)}
    scores = {}
    for workers in (1, 2):
        summary = predict_photos([photos], model, tmp_path / str(workers), images=False, workers=workers)
        each = [
            min(nme(face.keypoints, truth[r.path.name]) for face in r.faces)
            for r in summary.results
            if r.path.name in truth and r.faces
        ]
        assert len(each) == 24
        scores[workers] = float(np.mean(each))
        assert pd.read_csv(summary.csv_path)["file"].nunique() == 24
    # against the frames' labels as drawn, which sit off the human convention the shipped model predicts
    assert scores[2] == scores[1] and 0 < scores[1] < 0.08


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 1.6-second 240x180 MJPG clip of a synthetic face moving a little."""
    images, keypoints = generate_faces(6, seed=3)
    photo = np.full((128, 128), 140, np.uint8)
    photo[16:112, 16:112] = images[1, 0]
    gentle = (("hold", 0.4, None), ("move", 0.8, (8.0, 1.1, 30.0, 6.0)), ("hold", 0.4, None))
    path = tmp_path_factory.mktemp("clip") / "walk.avi"
    return make_clip(photo, keypoints[1].reshape(15, 2) + 16, path, seconds=1.6, size=(240, 180), path=gentle)


def test_a_video_drawn_in_its_own_thread_gets_the_same_frames_and_rows(tmp_path, model, clip, monkeypatch):
    encoded = {}
    real = H264Writer.write

    def record(writer, frame):
        encoded.setdefault(writer.path.parent.name, []).append(hashlib.sha256(frame.tobytes()).hexdigest())
        return real(writer, frame)

    monkeypatch.setattr(H264Writer, "write", record)  # x264 itself may code a frame differently from run to run
    one = predict_video(clip.path, model, tmp_path / "one", workers=1)
    two = predict_video(clip.path, model, tmp_path / "two", workers=2)
    assert one.frames == two.frames == clip.n_frames and one.error is None and two.error is None
    assert [(f.frame, f.track) for f in two.faces] == [(f.frame, f.track) for f in one.faces]
    np.testing.assert_array_equal([f.keypoints for f in two.faces], [f.keypoints for f in one.faces])
    assert encoded["two"] == encoded["one"] and len(encoded["one"]) == clip.n_frames  # the drawn frames, in order
    assert two.output.read_bytes() == one.output.read_bytes()  # the first annotated frame
    assert len(list(av.open(str(two.video)).decode(video=0))) == clip.n_frames


@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_while_drawing_a_frame_keeps_the_frames_written_and_their_rows(
    tmp_path, model, clip, monkeypatch, workers
):
    calls = []
    real = video_module.draw_faces

    def stop_at_the_ninth(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 9:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(video_module, "draw_faces", stop_at_the_ninth)
    result = predict_video(clip.path, model, tmp_path, workers=workers)
    assert result.interrupted and result.frames == 8
    assert sorted({f.frame for f in result.faces}) == list(range(8))
    assert len(list(av.open(str(result.video)).decode(video=0))) == 8
    assert set(calls) == {"keypoints-video-writer" if workers == 2 else "MainThread"}


def test_sigint_to_a_run_on_two_workers_exits_130_and_leaves_the_previous_results(tmp_path, model, folder):
    photos = tmp_path / "many"
    photos.mkdir()
    for k in range(150):  # long enough to be stopped halfway
        (photos / f"{k:03d}.png").write_bytes((folder / f"{'abcefghi'[k % 8]}_{k % 8}.png").read_bytes())
    out = tmp_path / "out"
    predict_photos([folder], model, out, workers=2)
    before = _files(out)
    command = [sys.executable, "-m", "keypoints", "predict", str(photos), "--out", str(out), "--workers", "2"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    while not list(out.glob(atomic.STAGING_PREFIX + "*/*.jpg")):  # the workers are writing annotated photos
        assert run.poll() is None and time.monotonic() - started < 60, run.communicate()
        time.sleep(0.01)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted (Ctrl-C): files written before are complete" in err and "Traceback" not in err
    assert _files(out) == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [atomic.MARKER_NAME]
