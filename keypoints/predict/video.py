"""Keypoints on every frame of a video: read, detect on key frames, track between them, smooth, draw, write.

Entry points::

    result = predict_video("clip.mp4", model, out_dir="results")   # annotated clip + first frame
    result.faces[0].frame, result.faces[0].track, result.faces[0].keypoints   # one row per frame per face
    figures = measure_clip(model, clip)                              # accuracy, jitter, lag, speed

Faces are found by the detector on key frames (every ``detect_every`` frames,
and on any frame where a track is lost or none is running); between them each
face is cut from where its keypoints were in the previous frame, as the photo
path re-frames a face around its own keypoints, which costs one flip-averaged
pass of the network per face instead of a detection and three passes. A face
the photo path turned upright (from the detector's landmarks) stays turned:
each frame's crop is turned by the eye line of the previous frame's keypoints.
"""

import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS, column_indices
from keypoints.errors import KeypointsError
from keypoints.inference import predict_pixels, predict_pixels_flip_averaged
from keypoints.predict import detect
from keypoints.predict.discover import VIDEO_SUFFIXES
from keypoints.predict.draw import draw_faces
from keypoints.predict.pipeline import FLIP_AVERAGE, _one_thread, predict_faces
from keypoints.predict.read import check_video_size
from keypoints.predict.tracking import MAX_UNCONFIRMED_S, Tracker, crop_like, crop_to_photo, cut_crops
from keypoints.training.metrics import nme

DETECT_EVERY = 30
"""Frames between key frames, where the detector looks for faces; see docs/decisions.md,
"How often to detect in a video"."""

OUTPUT_SUFFIX = ".mp4"
OUTPUT_CODEC = "mp4v"
"""The annotated video: MPEG-4 Part 2 in MP4, which OpenCV's wheels write at a few ms a frame
(H.264 is not in them; VP8 in WebM, which browsers play, costs 26 ms a frame at 640x480)."""

TRACK_PASSES = 1
"""Passes of the network per tracked face and frame, each cut around the previous pass's keypoints;
see docs/decisions.md, "Tracking passes per frame"."""

FALLBACK_FPS = 25.0
"""Frame rate assumed when a file does not state one."""


class VideoError(KeypointsError):
    """A video cannot be read, or was cut short."""


def make_detector():
    """The face detector videos use by default: the photos' default (the one place to change it)."""
    return detect.make_detector()


def detect_faces(detector, gray):
    """The faces in a gray frame as :class:`~keypoints.predict.detect.Detections` (the one call to the detector)."""
    found = detect.as_detections(detector.detect(gray))
    threshold = getattr(detector, "min_score", None)
    return found if threshold is None else found.take(~(found.scores < threshold))  # as photos leave them out


def is_video(path):
    """Whether a path names a video, by its suffix."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class FrameFace:
    """One face in one frame of a video.

    Attributes
    ----------
    frame : int
        From 0.
    time_s : float
        ``frame / fps``.
    track : int
        The face's number, kept while it stays in view.
    face : int
        Its number within the frame (from 0, oldest track first).
    box : tuple of int
        ``x, y, w, h``, frame pixels: the detector-like box of the square the keypoints were predicted in.
    keypoints : ndarray of float64, shape (15, 2)
        Frame pixels, smoothed unless smoothing is off.
    """

    frame: int
    time_s: float
    track: int
    face: int
    box: tuple
    keypoints: np.ndarray


@dataclass
class VideoResult:
    """What the predictor made of one video.

    Attributes
    ----------
    path : Path
    faces : list of FrameFace
        One per frame per face.
    size : tuple of int, or None
        ``(width, height)``.
    fps : float or None
    frames : int
        Frames read and annotated.
    frames_expected : int or None
        Frames the file's header announces (None when it does not say).
    error : str or None
        Why it could not be read, or where it was cut short (the frames before are kept).
    interrupted : bool
        Ctrl-C stopped it; the frames done are kept.
    output : Path or None
        The first annotated frame (JPEG), for the results page.
    video : Path or None
        The annotated video.
    seconds : float
        Time spent on it.
    """

    path: Path
    faces: list = field(default_factory=list)
    size: tuple = None
    fps: float = None
    frames: int = 0
    frames_expected: int = None
    error: str = None
    interrupted: bool = False
    output: Path = None
    video: Path = None
    seconds: float = 0.0
    image: np.ndarray = None  # the photo results' field; a video keeps no frame in memory

    @property
    def tracks(self):
        """How many faces were followed (distinct track numbers)."""
        return len({face.track for face in self.faces})


class FrameLoop:
    """The per-frame work on one video: detection on key frames, tracking, smoothing.

    Parameters
    ----------
    model : LoadedModel
    detector : object with ``detect(gray)``, optional
    smooth : bool
    detect_every : int
        See ``DETECT_EVERY``; 1 detects on every frame.
    fps : float
    size : tuple of int
        ``(width, height)``.
    """

    def __init__(
        self,
        model,
        detector=None,
        smooth=True,
        detect_every=DETECT_EVERY,
        fps=FALLBACK_FPS,
        size=None,
        passes=TRACK_PASSES,
    ):
        if detect_every < 1:
            raise ValueError(f"detect_every must be at least 1, got {detect_every}")
        self.model, self.detector = model, detector or make_detector()
        self.detect_every, self.fps, self.size, self.passes = detect_every, fps, size, passes
        self.tracker = Tracker(smooth=smooth, max_unconfirmed=max(int(round(MAX_UNCONFIRMED_S * fps)), 1))
        self.detections = 0
        self.order = column_indices(model.columns, KEYPOINT_COLUMNS)
        mirror_sum = model.card.get("flip_mirror_sum_px")
        if FLIP_AVERAGE and mirror_sum is not None:
            self.predict = partial(predict_pixels_flip_averaged, columns=model.columns, mirror_sum=mirror_sum)
        else:
            self.predict = predict_pixels

    def __call__(self, gray, index):
        """The faces of frame ``index`` (gray, (H, W) uint8); returns a list of FrameFace."""
        size = self.size or (gray.shape[1], gray.shape[0])
        tracks = self.tracker.tracks
        lost = False
        if tracks:
            crops = [track.next_crop() for track in tracks]
            points = []
            for step in range(self.passes):
                if step:
                    crops = [crop_like(c, p, t.framing) for t, c, p in zip(tracks, crops, points)]
                with _one_thread():
                    pixels = self.predict(self.model.module, cut_crops(gray, crops))[:, self.order].reshape(
                        -1, len(KEYPOINTS), 2
                    )
                points = [crop_to_photo(p, c) for p, c in zip(pixels, crops)]
            kept = [track for track, crop, p in zip(tracks, crops, points) if track.update(crop, p, size)]
            lost = len(kept) < len(tracks)
            self.tracker.tracks = kept
        if lost or not self.tracker.tracks or index % self.detect_every == 0:
            self.detections += 1
            found = detect_faces(self.detector, gray)
            new = self.tracker.match(found.boxes, index)
            fresh = [k for k, box in enumerate(found.boxes) if any(np.array_equal(box, b) for b in new)]
            for face in predict_faces(gray, found.take(fresh), self.model):
                # a new face is predicted as a photo's (aligned from its landmarks) and followed from that crop:
                # turned by its own eye line when the photo path turned it, upright when it did not
                self.tracker.start(face.keypoints, face.crop, index)
            self.tracker.drop_duplicates()
        time_s = index / self.fps
        faces = []
        for number, track in enumerate(self.tracker.tracks):
            points = track.smoother(track.keypoints, time_s) if track.smoother else track.keypoints
            faces.append(FrameFace(index, time_s, track.number, number, track.box, points))
        return faces


def read_frames(capture):
    """Frames of an opened ``cv2.VideoCapture`` until it gives none (BGR, (H, W, 3) uint8)."""
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def open_video(path):
    """An opened ``cv2.VideoCapture``, its ``(width, height)``, frame rate and announced frame count.

    Raises
    ------
    VideoError
        Missing, empty, or not a video OpenCV can open (the message says what to try).
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file (0 bytes); copy the video again")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoError(
            f"{path}: cannot be opened as a video: not a video, or damaged (an MP4 or MOV cut short loses "
            "its index, which is written last); copy it again, or convert it with ffmpeg"
        )
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    check_video_size(path, size, VideoError)  # the capture is released when it goes out of scope
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if np.isfinite(fps) and fps > 0 else FALLBACK_FPS
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    return capture, size, fps, (count if count > 0 else None)


def predict_video(
    path,
    model,
    out_dir,
    name=None,
    detector=None,
    smooth=True,
    detect_every=DETECT_EVERY,
    progress=False,
    draw=True,
):
    """One video end to end: every frame's faces, an annotated copy, its first annotated frame.

    Writes ``out_dir/<name>.mp4`` (same size and frame rate) and ``out_dir/<name>.jpg`` (its first
    frame). Ctrl-C stops after the frame in hand: the video written so far is closed, so it plays,
    and the result is marked ``interrupted``. A file cut short keeps the frames read, with ``error``
    saying where it stopped.

    Parameters
    ----------
    path : str or Path
    model : LoadedModel
    out_dir : str or Path
    name : str, optional
        Stem of the outputs (default: the video's stem).
    detector : object with ``detect(gray)``, optional
    smooth : bool
        One Euro filter on the keypoints (see :mod:`keypoints.predict.smoothing`).
    detect_every : int
    progress : bool
        A progress bar on stderr (frames done, frames per second, time left).
    draw : bool
        Write the annotated video and its first frame; False gives the keypoints only.

    Returns
    -------
    VideoResult
    """
    path, out_dir = Path(path), Path(out_dir)
    start = time.perf_counter()
    try:
        capture, size, fps, expected = open_video(path)
    except VideoError as error:
        return VideoResult(path, error=str(error))
    name = name or path.stem or "video"
    result = VideoResult(path, size=size, fps=fps, frames_expected=expected)
    result.video, result.output = out_dir / f"{name}{OUTPUT_SUFFIX}", out_dir / f"{name}.jpg"
    if result.video.resolve() == path.resolve():
        raise VideoError(f"{path}: the annotated video would overwrite it; choose another --out folder")
    if draw:
        out_dir.mkdir(parents=True, exist_ok=True)
    partial_video = out_dir / f"{name}.partial{OUTPUT_SUFFIX}"  # renamed when closed, so no half-written file
    writer = cv2.VideoWriter(str(partial_video), cv2.VideoWriter_fourcc(*OUTPUT_CODEC), fps, size) if draw else None
    if draw and not writer.isOpened():
        capture.release()
        raise VideoError(f"{partial_video}: OpenCV cannot write a video there; is {out_dir} writable?")
    loop = FrameLoop(model, detector, smooth, detect_every, fps, size)
    bar = tqdm(total=expected, desc=path.name, unit="frame", disable=not progress, leave=False)
    try:
        for index, frame in enumerate(read_frames(capture)):
            if (frame.shape[1], frame.shape[0]) != size:
                frame = cv2.resize(frame, size)  # some streams change size; the writer cannot
            faces = loop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), index)
            if draw:
                if faces:
                    draw_faces(frame, [f.box for f in faces], [f.keypoints for f in faces])
                writer.write(frame)
                if index == 0:
                    _write_jpeg(result.output, frame)
            result.faces += faces
            result.frames += 1
            bar.update()
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
        capture.release()
        if writer is not None:
            writer.release()
        if draw and result.frames:
            os.replace(partial_video, result.video)
        else:
            partial_video.unlink(missing_ok=True)
            result.video = result.output = None
    result.seconds = time.perf_counter() - start
    if not result.frames and not result.interrupted:
        result.error = f"{path}: no frame could be read: damaged, or not a video; copy it again"
    elif expected and result.frames < expected and not result.interrupted:
        result.error = (
            f"{path}: truncated or damaged: {result.frames} of the {expected} frames its header announces could "
            f"be read; those are kept"
        )
    return result


def _write_jpeg(path, image):
    partial_image = path.with_name(f"{path.stem}.partial.jpg")
    if not cv2.imwrite(str(partial_image), image, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise VideoError(f"{path}: could not be written; is {path.parent} writable?")
    os.replace(partial_image, path)


def track_clip(
    path, truth, model, detector=None, smooth=True, detect_every=DETECT_EVERY, as_photos=False, passes=TRACK_PASSES
):
    """Keypoints of the true face in every frame of a clip, nothing written (for measurements).

    The face scored in a frame is the one whose keypoints' centre lies nearest the true centre, as
    :func:`keypoints.predict.accuracy.evaluate_photos` scores the detection holding the true centre.

    Parameters
    ----------
    path : str or Path
    truth : ndarray, shape (N, 15, 2)
    model : LoadedModel
    detector, smooth, detect_every, passes
        As for :class:`FrameLoop`.
    as_photos : bool
        Predict every frame as a photo (detect, three passes) instead of tracking.

    Returns
    -------
    keypoints : ndarray of float64, shape (N, 15, 2)
        NaN where no face was found.
    seconds : float
        Time for reading and predicting (no drawing, no writing).
    detections : int
        Frames the detector ran on.
    """
    capture, size, fps, _ = open_video(path)
    detector = detector or make_detector()
    loop = FrameLoop(model, detector, smooth, detect_every, fps, size, passes)
    points, start = [], time.perf_counter()
    for index, frame in enumerate(read_frames(capture)):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        faces = predict_faces(gray, detect_faces(detector, gray), model) if as_photos else loop(gray, index)
        centre = truth[index].mean(axis=0)
        distances = [np.linalg.norm(face.keypoints.mean(axis=0) - centre) for face in faces]
        points.append(faces[int(np.argmin(distances))].keypoints if faces else np.full((15, 2), np.nan))
    seconds = time.perf_counter() - start
    capture.release()
    return np.array(points), seconds, (len(points) if as_photos else loop.detections)


def found_mask(points, truth):
    """Frames (N,) whose face is the true one: its keypoints' centre within one eye distance of the true centre."""
    eyes = np.linalg.norm(truth[:, 0] - truth[:, 1], axis=1)
    distance = np.linalg.norm(points.mean(axis=1) - truth.mean(axis=1), axis=1)
    return np.isfinite(distance) & (distance < eyes)


def frame_nme(points, truth):
    """NME of every frame (N,), NaN where the true face was not found."""
    found = found_mask(points, truth)
    return np.array([nme(p, t) if ok else np.nan for p, t, ok in zip(points, truth, found)])


def jitter(points, truth, still):
    """Mean frame-to-frame movement of the keypoints over the still frames, in eye distances.

    Only frames where this one and the one before found the true face count.
    """
    eyes = np.linalg.norm(truth[:, 0] - truth[:, 1], axis=1)
    found = found_mask(points, truth)
    steps = np.linalg.norm(points[1:] - points[:-1], axis=2).mean(axis=1) / eyes[1:]  # (N - 1,)
    return float(np.nanmean(np.where(still[1:] & found[1:] & found[:-1], steps, np.nan)))


def lag(points, truth, still, max_frames=4.0, step=0.05):
    """Frames by which keypoints trail the truth on the moving stretches.

    The shift ``d`` (0 to ``max_frames``, in steps of ``step``) that brings ``points[t]`` nearest
    the truth at ``t - d`` (interpolated), over the frames that are not still.
    """
    frames = np.arange(len(truth), dtype=np.float64)
    moving = ~still & found_mask(points, truth)
    moving[: int(np.ceil(max_frames))] = False
    flat = truth.reshape(len(truth), -1)
    best, best_error = 0.0, np.inf
    for shift in np.arange(0.0, max_frames + 1e-9, step):
        earlier = np.stack([np.interp(frames - shift, frames, column) for column in flat.T], axis=1)
        error = np.linalg.norm((points - earlier.reshape(truth.shape))[moving], axis=2).mean()
        if error < best_error:
            best, best_error = float(shift), error
    return best


def measure_clip(model, clip, detect_every=DETECT_EVERY, detector=None, photo_run=None):
    """The video figures on a clip with known keypoints (see :mod:`keypoints.predict.clips`).

    Runs the clip three times: every frame as a photo, tracked without smoothing, tracked with it.

    Parameters
    ----------
    model : LoadedModel
    clip : Clip
    detect_every : int
    detector : object with ``detect(gray)``, optional
    photo_run : tuple, optional
        What ``track_clip(..., as_photos=True)`` returned for this clip, to compare several settings
        against one photo run (its time must come from the same machine load to be a fair ratio).

    Returns
    -------
    dict
        ``nme_photo``, ``nme_raw``, ``nme_smooth``: mean NME over the frames where all three found
        the true face; ``found_photo``, ``found_raw``, ``found_smooth``: fraction of frames where
        each found it; ``jitter_raw``, ``jitter_smooth`` (eye distances per frame, still stretches)
        and their ratio; ``lag_raw``, ``lag_smooth`` (frames, moving stretches); ``fps_photo``,
        ``fps_video`` (reading and predicting, smoothing on) and ``speedup``; ``detections``
        (frames the detector ran on, smoothing on) and ``frames``.
    """
    detector = detector or make_detector()
    runs = {
        "photo": photo_run or track_clip(clip.path, clip.truth, model, detector, as_photos=True),
        "raw": track_clip(clip.path, clip.truth, model, detector, smooth=False, detect_every=detect_every),
        "smooth": track_clip(clip.path, clip.truth, model, detector, smooth=True, detect_every=detect_every),
    }
    errors = {name: frame_nme(points, clip.truth) for name, (points, _, _) in runs.items()}
    common = np.logical_and.reduce([np.isfinite(e) for e in errors.values()])
    figures = {"frames": clip.n_frames, "detections": runs["smooth"][2]}
    for name, (points, _seconds, _) in runs.items():
        figures[f"nme_{name}"] = float(errors[name][common].mean())
        figures[f"found_{name}"] = float(np.isfinite(errors[name]).mean())
        if name != "photo":
            figures[f"jitter_{name}"] = jitter(points, clip.truth, clip.still)
            figures[f"lag_{name}"] = lag(points, clip.truth, clip.still)
    figures["jitter_ratio"] = figures["jitter_raw"] / figures["jitter_smooth"]
    figures["fps_photo"] = clip.n_frames / runs["photo"][1]
    figures["fps_video"] = clip.n_frames / runs["smooth"][1]
    figures["speedup"] = figures["fps_video"] / figures["fps_photo"]
    return figures
