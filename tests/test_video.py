"""Videos: `keypoints predict clip.avi` on 2-second clips made in the test from a synthetic face.

The clips move a synthetic face along a known path (clips.py), so every frame's
true keypoints are known. The shipped model predicts, so that the keypoints
follow the face and the track, smoothing and jitter are those of a real run.
"""

import json

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints import paths
from keypoints.cli import main
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces
from keypoints.measure.clips import make_clip, poses
from keypoints.measure.video import frame_nme, jitter, track_clip
from keypoints.predict import detect, load_predictor_model, predict_photos
from keypoints.predict.crops.align import AlignedCrop, aligned_to_photo
from keypoints.predict.crops.crop import MEAN_KEYPOINTS, Crop, crop_for_box
from keypoints.predict.options import PredictOptions
from keypoints.predict.video import pipeline as video_module
from keypoints.predict.video.pipeline import FrameLoop, predict_video, read_frames
from keypoints.predict.video.smoothing import OneEuroFilter
from keypoints.predict.video.tracking import Tracker, box_of_crop, crop_centre, crop_like, keypoints_angle

FPS = 25.0
SIZE = (240, 180)
STILL = (("hold", 2.0, None),)
GENTLE = (("hold", 0.6, None), ("move", 0.8, (8.0, 1.1, 30.0, 6.0)), ("hold", 0.6, None))


@pytest.fixture(scope="module")
def model():
    if not paths.DEFAULT_MODEL.is_file():
        pytest.skip(f"{paths.DEFAULT_MODEL} is missing: restore it with `git checkout keypoints/assets/default.pt`")
    return load_predictor_model()


@pytest.fixture(scope="module")
def face_photo():
    """A synthetic face on a plain 128x128 photo (one the cascade finds), and its keypoints (15, 2)."""
    images, keypoints = generate_faces(6, seed=3)
    photo = np.full((128, 128), 140, np.uint8)
    photo[16:112, 16:112] = images[1, 0]
    return photo, keypoints[1].reshape(15, 2) + 16


@pytest.fixture(scope="module")
def clip(tmp_path_factory, face_photo):
    """A 2-second 240x180 MJPG clip: still, a gentle move with a tilt, still."""
    folder = tmp_path_factory.mktemp("clip")
    return make_clip(*face_photo, folder / "walk.avi", seconds=2.0, fps=FPS, size=SIZE, face_height=0.75, path=GENTLE)


def _count_frames(path):
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} does not open"
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = 0
    while capture.read()[0]:
        frames += 1
    return frames, size, fps


def test_the_clip_path_holds_moves_and_stays_still(clip):
    frame_poses, still = poses(2.0, FPS, GENTLE)
    assert len(frame_poses) == clip.n_frames == 50
    assert still.sum() == 29 and not still[0]  # 15 + 15 held frames, less the first
    assert np.allclose(frame_poses[-1], (8.0, 1.1, 30.0, 6.0))
    # a still stretch keeps the true keypoints where they were
    assert np.allclose(clip.truth[1:15], clip.truth[0])


def test_the_annotated_video_has_every_frame_at_the_size_and_rate(tmp_path, model, clip):
    result = predict_video(clip.path, model, tmp_path)
    assert result.error is None and not result.interrupted
    assert result.video == tmp_path / "walk.mp4" and result.output == tmp_path / "walk.jpg"
    frames, size, fps = _count_frames(result.video)
    assert (frames, size) == (50, SIZE)
    assert fps == pytest.approx(FPS, abs=0.01)
    assert cv2.imread(str(result.output)).shape == (SIZE[1], SIZE[0], 3)
    assert not list(tmp_path.glob("*.partial*"))


def test_csv_has_a_row_per_frame_per_face_with_frame_time_and_a_stable_track(tmp_path, model, clip, capsys):
    assert main(["predict", str(clip.path), "--model", str(paths.DEFAULT_MODEL), "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "keypoints.csv")
    assert list(table.columns[:6]) == ["file", "face", "frame", "time_s", "track", "box_x"]
    assert len(table) == 50 and list(table["frame"]) == list(range(50))
    assert np.allclose(table["time_s"], table["frame"] / FPS, atol=0.005)
    assert table["track"].nunique() == 1 and (table["face"] == 0).all()
    # every frame row carries the detector's score and this frame's error estimate
    assert (table["score"] > 0.5).all() and ((table["error_px"] > 0) & (table["error_px"] < 10)).all()
    assert table["error_px"].nunique() > 10  # estimated in each frame, not copied from the first
    with av.open(str(tmp_path / "walk.mp4")) as played:  # H.264, which browsers play
        assert played.streams.video[0].codec_context.name == "h264" and played.streams.video[0].frames == 50
    # the keypoints follow the face: mean error under a fifth of the eye distance in every frame
    points = table[list(KEYPOINT_COLUMNS)].to_numpy().reshape(-1, 15, 2)
    eyes = np.linalg.norm(clip.truth[:, 0] - clip.truth[:, 1], axis=1)
    assert (np.linalg.norm(points - clip.truth, axis=2).mean(axis=1) / eyes).max() < 0.2
    out = capsys.readouterr().out
    assert "walk.avi: 50 frames, 1 face track" in out
    assert f"1 video, 50 frames, 1 face track; results in {tmp_path}/" in out
    page = (tmp_path / "index.html").read_text()
    assert '<video class="photo" controls preload="metadata" poster="walk.jpg" src="walk.mp4"' in page
    assert page.count('class="face"') == 0  # a video is shown as the video, not 50 faces
    assert '<h1 id="counts">1 video, 50 frames, 1 face track</h1>' in page  # not "1 photo, 50 faces"


def test_smoothing_lowers_the_jitter_on_a_still_stretch(tmp_path, model, face_photo):
    still = make_clip(
        *face_photo, tmp_path / "still.avi", seconds=2.0, size=SIZE, face_height=0.75, noise=6, path=STILL
    )
    raw, _, _ = track_clip(still.path, still.truth, model, smooth=False)
    smooth, _, _ = track_clip(still.path, still.truth, model, smooth=True)
    assert np.isfinite(raw).all() and np.isfinite(smooth).all()
    assert jitter(smooth, still.truth, still.still) < jitter(raw, still.truth, still.still) / 2


def test_the_one_euro_filter_stills_noise_and_follows_a_move():
    rng = np.random.default_rng(0)
    still_filter, moving_filter = OneEuroFilter(), OneEuroFilter()
    truth = np.zeros((15, 2))
    noisy = [truth + rng.normal(0, 1.0, truth.shape) for _ in range(100)]
    smoothed = np.array([still_filter(p, t / 25) for t, p in enumerate(noisy)])
    raw_steps = np.abs(np.diff(noisy, axis=0)).mean()
    assert np.abs(np.diff(smoothed[20:], axis=0)).mean() < raw_steps / 3
    # a steady move of 4 px a frame: after a second the filter trails by under one frame's move
    moved = [moving_filter(truth + 4.0 * t, t / 25) for t in range(25)]
    assert np.abs(moved[-1] - (truth + 4.0 * 24)).max() < 4.0
    with pytest.raises(ValueError, match="time must increase"):
        moving_filter(truth, 0.0)


def test_a_truncated_video_is_reported_and_its_frames_kept(tmp_path, model, clip):
    data = clip.path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    summary = predict_photos([cut], model, tmp_path / "out")
    (result,) = summary.results
    assert 10 < result.frames < 50
    assert result.error == (
        f"{cut}: truncated or damaged: {result.frames} of the 50 frames its header announces could be read; "
        "those are kept"
    )
    assert _count_frames(result.video)[0] == result.frames
    assert len(pd.read_csv(summary.csv_path)) == result.frames
    assert summary.exit_code == 1


def test_a_file_that_is_no_video_is_reported(tmp_path, model):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"not a video at all" * 10)
    result = predict_video(fake, model, tmp_path / "out")
    assert result.error.startswith(f"{fake}: cannot be opened as a video") and result.video is None


def test_ctrl_c_leaves_a_playable_video_and_the_csv_of_the_frames_done(tmp_path, model, clip, monkeypatch, capsys):
    calls = []

    def draw_then_stop(image, boxes, keypoints, doubts=None):
        calls.append(1)
        if len(calls) == 12:
            raise KeyboardInterrupt
        return image

    monkeypatch.setattr(video_module, "draw_faces", draw_then_stop)
    code = main(["predict", str(clip.path), "--model", str(paths.DEFAULT_MODEL), "--out", str(tmp_path)])
    assert code == 130
    assert _count_frames(tmp_path / "interrupted" / "walk.mp4")[0] == 11  # beside the earlier results, none here
    assert list(pd.read_csv(tmp_path / "interrupted" / "keypoints.csv")["frame"]) == list(range(11))
    assert f"interrupted at frame 11 of {clip.path}" in capsys.readouterr().err


def test_photos_and_videos_mixed_share_one_csv(tmp_path, model, clip, face_photo):
    photo = tmp_path / "face.png"
    canvas = np.full((240, 320), 140, np.uint8)
    canvas[40:168, 60:188] = face_photo[0]
    cv2.imwrite(str(photo), canvas)
    summary = predict_photos(
        [photo, clip.path], model, tmp_path / "out", options=PredictOptions(detect_every=5), json=True
    )
    table = pd.read_csv(summary.csv_path)
    assert len(table) == 51
    photo_row = table[table["file"] == str(photo)]
    assert len(photo_row) == 1 and photo_row[["frame", "time_s", "track"]].isna().all(axis=None)
    assert summary.line().startswith("1 photo read, 1 face found; 1 video, 50 frames, 1 face track")
    document = json.loads(summary.json_path.read_text())
    video_faces = document["photos"][1]["faces"]
    assert len(video_faces) == 50 and [f["frame"] for f in video_faces] == list(range(50))
    assert {f["track"] for f in video_faces} == {0} and video_faces[25]["time_s"] == pytest.approx(1.0)


def test_detect_every_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "x.mp4", "--detect-every", "0"])
    assert "'0' is out of range: the number of frames between detections" in capsys.readouterr().err


def test_a_track_keeps_its_number_while_confirmed_and_is_dropped_when_not():
    tracker = Tracker(smooth=False, max_unconfirmed=10)
    crop = crop_for_box((50, 50, 80, 80))
    first = tracker.start(MEAN_KEYPOINTS * crop.side / 96 + (crop.x0, crop.y0), crop, index=0)
    assert tracker.match(np.array([[52, 50, 80, 80]]), index=5) == []  # the same face, moved 2 px
    assert first.confirmed == 5
    (new,) = tracker.match(np.array([[200, 50, 60, 60]]), index=15)  # another face; the first is not seen
    assert list(new) == [200, 50, 60, 60] and tracker.tracks == [first]
    assert tracker.match(np.zeros((0, 4)), index=16) == [] and tracker.tracks == []


def test_a_crop_maps_back_to_the_box_it_came_from():
    for box in [(10, 20, 80, 80), (0, 0, 33, 33), (200, 150, 201, 201)]:
        recovered = box_of_crop(crop_for_box(box))
        assert np.abs(np.subtract(recovered, box)).max() <= 1


def test_a_turned_crop_maps_back_to_the_upright_box_of_its_centre_and_side():
    box = (40, 30, 90, 90)
    upright = crop_for_box(box)
    cx, cy = crop_centre(upright)
    assert box_of_crop(AlignedCrop(cx, cy, upright.side, 0.4)) == box_of_crop(upright)
    assert np.abs(np.subtract(box_of_crop(AlignedCrop(cx, cy, upright.side, 0.4)), box)).max() <= 1


def test_the_keypoints_eye_line_gives_the_turn_of_the_face():
    level = keypoints_angle(MEAN_KEYPOINTS)  # the training faces' eyes are level within a degree
    assert abs(level) < np.radians(1)
    turned = aligned_to_photo(MEAN_KEYPOINTS, AlignedCrop(200.0, 150.0, 120.0, np.radians(20)))
    assert keypoints_angle(turned) == pytest.approx(np.radians(20) + level, abs=1e-9)


def test_a_turned_track_follows_the_eye_line_and_the_motion():
    crop = AlignedCrop(200.0, 150.0, 120.0, np.radians(15))
    tracker = Tracker(smooth=False)
    track = tracker.start(aligned_to_photo(MEAN_KEYPOINTS, crop), crop, index=0)
    still = track.next_crop()
    assert isinstance(still, AlignedCrop) and np.allclose(still, crop)  # a still face is cut where it was
    # the face moves 4 px right and turns 3 more degrees: the next crop goes on as far, and turns as much again
    moved = AlignedCrop(204.0, 150.0, 120.0, np.radians(18))
    assert track.update(still, aligned_to_photo(MEAN_KEYPOINTS, moved), size=(640, 480))
    ahead = track.next_crop()
    # (moved on linearly, a turn of 3 degrees grows the face by its chord: 0.3 %)
    assert np.allclose(ahead[:2], (208.0, 150.0), atol=0.05) and ahead.side == pytest.approx(120.0, rel=0.005)
    assert np.degrees(ahead.angle) == pytest.approx(21.0, abs=0.05)
    # a jump of half the crop is not the face it followed
    jumped = AlignedCrop(270.0, 150.0, 120.0, np.radians(18))
    assert not track.update(ahead, aligned_to_photo(MEAN_KEYPOINTS, jumped), size=(640, 480))
    assert track.crop == still


def test_a_turned_track_keeps_the_framing_of_its_first_crop():
    # keypoints predicted 10 % small, 3 px low and 2 degrees off in the first crop, as a network's bias may put them
    face = AlignedCrop(200.0, 150.0, 132.0, np.radians(12))
    first = AlignedCrop(200.0, 147.0, 120.0, np.radians(10))
    tracker = Tracker(smooth=False)
    track = tracker.start(aligned_to_photo(MEAN_KEYPOINTS, face), first, index=0)
    angle, scale, offset = track.framing
    assert angle == pytest.approx(np.radians(-2) - keypoints_angle(MEAN_KEYPOINTS), abs=1e-9)
    # (to within what the 2-degree turn between the keypoints and the crop moves the fit)
    assert scale == pytest.approx(120 / 132, rel=2e-3) and np.allclose(offset, (0.0, -3 / 132), atol=5e-3)
    assert np.allclose(track.next_crop(), first)
    # the same face 30 % larger, 50 px right and turned 10 more degrees: the crop is set on it the same way
    bigger = AlignedCrop(250.0, 150.0, 132.0 * 1.3, np.radians(22))
    crop = crop_like(first, aligned_to_photo(MEAN_KEYPOINTS, bigger), track.framing)
    up = np.array([np.sin(np.radians(10)), -np.cos(np.radians(10))]) * 3 * 1.3  # 3 px up, scaled and turned on
    assert np.allclose(crop, (250.0 + up[0], 150.0 + up[1], 120.0 * 1.3, np.radians(20)))
    # without a framing the crop fits the keypoints themselves
    plain = crop_like(first, aligned_to_photo(MEAN_KEYPOINTS, bigger))
    assert plain.side == pytest.approx(132.0 * 1.3, rel=1e-3)
    assert plain.angle == pytest.approx(np.radians(22) + keypoints_angle(MEAN_KEYPOINTS), abs=1e-9)


def test_a_tilted_face_is_tracked_with_crops_turned_as_it_is(model, clip):
    loop = FrameLoop(model, options=PredictOptions(smooth=False, detect_every=100), fps=FPS, size=SIZE)
    capture = cv2.VideoCapture(str(clip.path))
    angles = []
    for index, frame in enumerate(read_frames(capture)):
        (face,) = loop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), index)
        (track,) = loop.tracker.tracks
        assert isinstance(track.crop, AlignedCrop)
        angles.append(track.crop.angle)
    capture.release()
    assert loop.detections == 1  # the first frame only: the track held through the move
    truth_angle = np.array([keypoints_angle(t) for t in clip.truth])
    # the crop turns with the face's 8-degree tilt (y down: counter-clockwise is a negative angle)
    turn = np.degrees(np.mean(angles[-10:]) - np.mean(angles[:10]))
    true_turn = np.degrees(truth_angle[-10:].mean() - truth_angle[:10].mean())
    assert true_turn == pytest.approx(-8.0, abs=0.5) and turn == pytest.approx(true_turn, abs=2.0)


def test_a_key_frame_whose_faces_are_all_followed_predicts_none_as_a_photo(model, clip, monkeypatch):
    searches = []
    real_search = video_module.search_faces
    monkeypatch.setattr(video_module, "search_faces", lambda *a, **k: searches.append(1) or real_search(*a, **k))
    loop = FrameLoop(model, options=PredictOptions(smooth=False, detect_every=10), fps=FPS, size=SIZE)
    points, tracks = _loop_keypoints(loop, clip)
    assert loop.detections == -(-len(points) // 10) > 1  # every 10th frame is searched by the detector
    assert len(searches) == 1  # the first: later key frames find the face already followed
    assert {track.number for frame in tracks for track in frame} == {0}
    assert frame_nme(points, clip.truth).mean() < 0.1


def test_a_face_without_landmarks_is_tracked_with_upright_crops(model, clip):
    haar = detect.make_detector("haar")
    loop = FrameLoop(model, haar, PredictOptions(smooth=False, detect_every=100), fps=FPS, size=SIZE)
    capture = cv2.VideoCapture(str(clip.path))
    points = []
    for index, frame in enumerate(read_frames(capture)):
        (face,) = loop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), index)
        (track,) = loop.tracker.tracks
        assert type(track.crop) is Crop  # Haar gives boxes only: nothing to turn the face by
        points.append(face.keypoints)
    capture.release()
    assert loop.detections == 1
    errors = frame_nme(np.array(points), clip.truth)
    assert np.isfinite(errors).all() and errors.mean() < 0.1


def _csv_keypoints(path):
    return pd.read_csv(path)[list(KEYPOINT_COLUMNS)].to_numpy().reshape(-1, 15, 2)


def _loop_keypoints(loop, clip):
    """Per frame: the keypoints (15, 2) of each face, and the tracks, as ``FrameLoop`` gives them."""
    capture, points, tracks = cv2.VideoCapture(str(clip.path)), [], []
    for index, frame in enumerate(read_frames(capture)):
        points += [face.keypoints for face in loop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), index)]
        tracks.append(list(loop.tracker.tracks))
    capture.release()
    return np.array(points), tracks


def test_a_video_keeps_its_low_scored_faces_with_keep_low_score_drawn_dashed_red(tmp_path, model, clip, monkeypatch):
    strict = ["predict", str(clip.path), "--model", str(model.path), "--min-score", "0.99"]  # it scores 0.93
    assert main([*strict, "--out", str(tmp_path / "left_out")]) == 0
    assert len(pd.read_csv(tmp_path / "left_out" / "keypoints.csv")) == 0
    drawn, draw = [], video_module.draw_faces
    monkeypatch.setattr(video_module, "draw_faces", lambda image, *faces: drawn.append(faces[2]) or draw(image, *faces))
    assert main([*strict, "--keep-low-score", "--out", str(tmp_path / "kept")]) == 0
    table = pd.read_csv(tmp_path / "kept" / "keypoints.csv")
    assert len(table) == 50 and table["score"].between(0.85, 0.99).all() and table["track"].nunique() == 1
    assert len(drawn) == 50 and all(d == [f"score {table['score'][0]:.2f}"] for d in drawn)
    document = predict_photos([clip.path], model, tmp_path / "json", json=True, images=False).json_path
    assert document is not None and "score" in json.loads(document.read_text())["photos"][0]["faces"][0]


def test_a_video_with_no_align_is_followed_with_upright_crops(tmp_path, model, clip):
    options = PredictOptions(align=False, smooth=False, detect_every=100)
    points, tracks = _loop_keypoints(FrameLoop(model, options=options, fps=FPS, size=SIZE), clip)
    assert all(isinstance(t.crop, AlignedCrop) and t.crop.angle == 0.0 for frame in tracks for t in frame)
    assert frame_nme(points, clip.truth).mean() < 0.1  # the tilted face is still followed
    turned, _ = _loop_keypoints(FrameLoop(model, options=PredictOptions(smooth=False, detect_every=100)), clip)
    assert np.abs(turned - points).max() > 0.5  # turned crops give other keypoints, so the option shows
    command = ["predict", str(clip.path), "--model", str(model.path), "--out", str(tmp_path)]
    assert main([*command, "--no-align", "--no-smooth", "--detect-every", "100"]) == 0
    np.testing.assert_allclose(_csv_keypoints(tmp_path / "keypoints.csv"), points, atol=0.006)


def test_a_video_with_refine_averages_the_windows_around_each_tracked_crop(tmp_path, clip):
    import torch

    from keypoints.model.checkpoint import load_model, save_model
    from keypoints.networks import build_network
    from keypoints.predict.crops.crop import clip_to_crop
    from keypoints.predict.photo.refine import fully_convolutional_model, refine_keypoints

    torch.manual_seed(0)
    path = save_model(tmp_path / "conv.pt", "conv", build_network("conv"), {})
    conv = load_predictor_model(load_model(path))
    windows = fully_convolutional_model(conv)
    loop = FrameLoop(conv, options=PredictOptions(refine=True, smooth=False, detect_every=100), fps=FPS, size=SIZE)
    capture = cv2.VideoCapture(str(clip.path))
    points = []
    for index, frame in enumerate(read_frames(capture)):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        faces = loop(gray, index)
        for face, track in zip(faces, loop.tracker.tracks):
            assert type(track.crop) is Crop  # the windows are upright squares
            expected = clip_to_crop(refine_keypoints(gray, track.crop, windows, conv.columns), track.crop)
            np.testing.assert_allclose(face.keypoints, expected, atol=1e-6)
        points += [face.keypoints for face in faces]
    capture.release()
    assert len(points) >= 50
    command = ["predict", str(clip.path), "--model", str(path), "--out", str(tmp_path / "out"), "--no-smooth"]
    assert main([*command, "--refine", "--detect-every", "100"]) == 0
    np.testing.assert_allclose(_csv_keypoints(tmp_path / "out" / "keypoints.csv"), np.array(points), atol=0.006)
    plain, _ = _loop_keypoints(FrameLoop(conv, options=PredictOptions(smooth=False, detect_every=100)), clip)
    assert plain.shape != np.shape(points) or np.abs(plain - np.array(points)).max() > 0.01


def test_refine_with_a_model_that_has_no_windows_is_refused_before_the_video_is_read(tmp_path, clip, capsys):
    command = ["predict", str(clip.path), "--model", str(paths.DEFAULT_MODEL), "--out", str(tmp_path), "--refine"]
    assert main(command) == 1
    assert "--refine needs a network whose windows are exactly the network (layer 'conv1' pads its input by (1, 1)" in (
        capsys.readouterr().err
    )
    assert not list(tmp_path.iterdir())
