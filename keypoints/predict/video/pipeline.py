"""Keypoints on every frame of a video: read, detect on key frames, track between them, smooth, draw, write.

Entry points::

    result = predict_video("clip.mp4", model, out_dir="results")   # annotated clip + first frame
    result.faces[0].frame, result.faces[0].track, result.faces[0].keypoints   # one row per frame per face
    predict_video("clip.mp4", model, "results", options=PredictOptions(keep_low_score=True, align=False))

The options are the photos' (:class:`~keypoints.predict.options.PredictOptions`): low-scored
faces kept (and drawn dashed and red), faces left upright, ``--refine``. How well it follows
faces is measured in :mod:`keypoints.measure.video`.

Faces are found by the detector on key frames (every ``detect_every`` frames,
and on any frame where a track is lost or none is running); between them each
face is cut from where its keypoints were in the previous frame, as the photo
path re-frames a face around its own keypoints, which costs one flip-averaged
pass of the network per face instead of a detection and three passes. A face
the photo path turned upright (from the detector's landmarks) stays turned:
each frame's crop is turned by the eye line of the previous frame's keypoints.
"""

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS, column_indices
from keypoints.errors import VideoError
from keypoints.model.inference import one_thread, predict_pixels
from keypoints.predict.crops.crop import clip_to_crop
from keypoints.predict.detect import make_detector
from keypoints.predict.estimates.confidence import error_head_of, face_errors, predict_with_disagreement
from keypoints.predict.inputs.discover import VIDEO_SUFFIXES
from keypoints.predict.inputs.read import check_video_size
from keypoints.predict.options import PredictOptions
from keypoints.predict.outputs.draw import draw_faces
from keypoints.predict.outputs.files import write_jpeg
from keypoints.predict.photo.pipeline import FLIP_AVERAGE, search_faces
from keypoints.predict.photo.refine import refine_keypoints, refine_windows
from keypoints.predict.photo.workers import default_workers, prefetched
from keypoints.predict.video.tracking import MAX_UNCONFIRMED_S, Tracker, crop_to_photo, cut_crops
from keypoints.predict.video.writer import H264Writer

OUTPUT_SUFFIX = ".mp4"
"""The annotated video: H.264 in MP4, written with PyAV (:mod:`keypoints.predict.video.writer`), which browsers
play; see docs/decisions/0069-videos-browsers-play.md."""

TRACK_PASSES = 1
"""Passes of the network per tracked face and frame, each cut around the previous pass's keypoints;
see docs/decisions/0028-tracking-passes-per-frame.md."""

FALLBACK_FPS = 25.0
"""Frame rate assumed when a file does not state one."""

FRAMES_AHEAD = 2
"""Frames tracked and waiting for the drawing thread (each a whole frame in memory) before tracking waits."""


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
    score : float
        The detector's score of the face when its track started (NaN for a detector without one).
    low_score : bool
        That score was under the detector's ``min_score`` (kept only with ``keep_low_score``).
    error_px : float
        Estimated mean keypoint error of this frame's prediction, frame pixels (before smoothing), from the
        disagreement of the face's and its mirror image's predictions; NaN without a mirror pass.
    """

    frame: int
    time_s: float
    track: int
    face: int
    box: tuple
    keypoints: np.ndarray
    score: float = float("nan")
    low_score: bool = False
    error_px: float = float("nan")


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
    detector : FaceDetector, optional
        Default YuNet (:func:`keypoints.predict.detect.make_detector`); it applies its own ``min_score``.
    options : PredictOptions, optional
        ``keep_low_score``, ``align`` and ``refine`` as for photos; ``smooth`` and ``detect_every``
        (1 detects on every frame).
    fps : float
    size : tuple of int
        ``(width, height)``.
    passes : int
        See ``TRACK_PASSES``.
    windows : FullyConvolutional, optional
        The model's fully-convolutional form for ``refine``, when made already.
    """

    def __init__(
        self, model, detector=None, options=None, fps=FALLBACK_FPS, size=None, passes=TRACK_PASSES, windows=None
    ):
        self.options = options or PredictOptions()
        if self.options.detect_every < 1:
            raise ValueError(f"detect_every must be at least 1, got {self.options.detect_every}")
        self.model, self.detector = model, detector or make_detector()
        self.windows = refine_windows(model, self.options, windows)
        self.detect_every, self.fps, self.size, self.passes = self.options.detect_every, fps, size, passes
        frames = max(int(round(MAX_UNCONFIRMED_S * fps)), 1)
        self.tracker = Tracker(smooth=self.options.smooth, max_unconfirmed=frames)
        self.detections = 0
        self.order = column_indices(model.columns, KEYPOINT_COLUMNS)
        self.keypoint_order = np.asarray(self.order[0::2]) // 2  # the model's keypoint of each KEYPOINTS entry
        self.head = error_head_of(model)
        mirror_sum = model.card.get("flip_mirror_sum_px")
        if FLIP_AVERAGE and mirror_sum is not None:
            # the flip-averaged keypoints and the mirror disagreement of each face: its error estimate
            self.predict = partial(
                predict_with_disagreement,
                columns=model.columns,
                mirror_sum=mirror_sum,
                per_keypoint=True,
                features=True,
            )
        else:
            self.predict = _without_disagreement

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
                    crops = [t.crop_for(p, c) for t, c, p in zip(tracks, crops, points)]
                points, errors = self._keypoints(gray, crops)
            for track, error in zip(tracks, errors):
                track.error_px = float(error)
            kept = [track for track, crop, p in zip(tracks, crops, points) if track.update(crop, p, size)]
            lost = len(kept) < len(tracks)
            self.tracker.tracks = kept
        if lost or not self.tracker.tracks or index % self.detect_every == 0:
            self._detect(gray, index)
        time_s = index / self.fps
        faces = []
        for number, track in enumerate(self.tracker.tracks):
            points = track.smoother(track.keypoints, time_s) if track.smoother else track.keypoints
            faces.append(
                FrameFace(
                    index, time_s, track.number, number, track.box, points, track.score, track.low_score, track.error_px
                )
            )
        return faces

    def _keypoints(self, gray, crops):
        """The keypoints (15, 2) in frame pixels of the faces in the tracks' crops, and their estimated errors
        (F,) in frame pixels: one pass, or ``--refine``'s (no mirror pass: NaN errors)."""
        if self.windows is not None:  # the tracks' crops are upright squares then, as the photo path cuts them
            points = [clip_to_crop(refine_keypoints(gray, c, self.windows, self.model.columns), c) for c in crops]
            return points, np.full(len(crops), np.nan)
        with one_thread():
            pixels, gaps, features = self.predict(self.model.module, cut_crops(gray, crops))
        pixels = pixels[:, self.order].reshape(-1, len(KEYPOINTS), 2)
        points = [crop_to_photo(p, c) for p, c in zip(pixels, crops)]
        sides = [c.side for c in crops]
        errors, _ = face_errors(self.head, gaps[:, self.keypoint_order], features, np.array(points), sides)
        return points, errors

    def _detect(self, gray, index):
        """A key frame: the detector's faces that no track follows start tracks, predicted as a photo's are."""
        self.detections += 1
        if self.tracker.tracks:
            upright = self.detector.detect(gray, keep_low_score=self.options.keep_low_score)
            if not self.tracker.match(upright.boxes, index):
                self.tracker.drop_duplicates()  # every face found is followed: none to predict as a photo's
                return
        # the photo path's search: the turned copies where the upright one's faces are tilted or doubtful
        found, predicted = search_faces(gray, gray, self.model, self.detector, self.options, self.windows)
        new = self.tracker.match(found.boxes, index)
        fresh = [k for k, box in enumerate(found.boxes) if any(np.array_equal(box, b) for b in new)]
        faces = [predicted[k] for k in fresh]
        for face in faces:
            # followed from the photo path's crop: turned by its own eye line when that was turned, upright when not
            track = self.tracker.start(
                face.keypoints, face.crop, index, face.score, face.low_score, turn=self.options.align
            )
            track.error_px = face.error_px
        self.tracker.drop_duplicates()


class DrawnFrames:
    """A video's frames drawn on and encoded, in a thread of their own (``threaded``) or in the caller's.

    Parameters
    ----------
    writer : H264Writer
    first_frame : Path
        Where the first annotated frame is written (JPEG), for the results page.
    threaded : bool
        Draw and encode in a thread while the caller tracks the next frames (at most ``FRAMES_AHEAD`` waiting).
    """

    def __init__(self, writer, first_frame, threaded):
        self.writer, self.first_frame = writer, first_frame
        self.written = 0  # frames drawn and encoded
        self.error = None  # what stopped the thread (Ctrl-C's KeyboardInterrupt too)
        self.queue = queue.Queue(FRAMES_AHEAD) if threaded else None
        if threaded:
            self.thread = threading.Thread(target=self._run, name="keypoints-video-writer", daemon=True)
            self.thread.start()

    def put(self, index, frame, faces):
        """Hand over frame ``index`` (BGR, drawn on in place) and its faces; raises what stopped the thread."""
        if self.queue is None:
            self._draw(index, frame, faces)
            return
        if self.error is not None:
            raise self.error
        self.queue.put((index, frame, faces))

    def finish(self):
        """Wait for the frames handed over; returns what stopped the thread early (None when nothing did)."""
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()
        return self.error

    def _draw(self, index, frame, faces):
        if faces:
            doubts = [f"score {f.score:.2f}" if f.low_score else None for f in faces]  # as photos draw them
            draw_faces(frame, [f.box for f in faces], [f.keypoints for f in faces], doubts)
        self.writer.write(frame)
        if index == 0:
            write_jpeg(self.first_frame, frame)
        self.written += 1

    def _run(self):
        while (item := self.queue.get()) is not None:
            if self.error is None:  # after an error the rest is only taken off the queue, so put() never waits
                try:
                    self._draw(*item)
                except BaseException as error:  # Ctrl-C's too: the caller stops there
                    self.error = error


def _without_disagreement(module, images):
    """One plain pass, for a model that cannot be flip-averaged: keypoints (N, K), NaN disagreements (N, K / 2)
    and no features."""
    pixels = predict_pixels(module, images)
    return pixels, np.full((len(images), pixels.shape[1] // 2), np.nan), None


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
    path, model, out_dir, name=None, detector=None, options=None, progress=False, draw=True, windows=None, workers=None
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
    detector : FaceDetector, optional
        Default YuNet; it applies its own ``min_score``.
    options : PredictOptions, optional
        Every option of the photos (``keep_low_score``, ``align``, ``refine``) and the videos' own
        (``smooth``, ``detect_every``); default ``PredictOptions()``.
    progress : bool
        A progress bar on stderr (frames done, frames per second, time left).
    draw : bool
        Write the annotated video and its first frame; False gives the keypoints only.
    windows : FullyConvolutional, optional
        The model's fully-convolutional form for ``refine``, when made already.
    workers : int, optional
        2 or more: the frames are decoded ahead in a thread (:func:`~keypoints.predict.photo.workers.prefetched`), and
        drawn and encoded in another (:class:`DrawnFrames`) while the next ones are tracked; 1: all in this
        thread. Default :func:`~keypoints.predict.photo.workers.default_workers`. The outputs are the same.

    Returns
    -------
    VideoResult
        With ``error`` set, and nothing written, when the annotated video cannot be opened for writing.
    """
    workers = default_workers() if workers is None else workers
    path, out_dir = Path(path), Path(out_dir)
    start = time.perf_counter()
    options = options or PredictOptions()
    windows = refine_windows(model, options, windows)  # a model without the form is refused before any file
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
    try:
        writer = H264Writer(partial_video, fps, size) if draw else None
    except VideoError as error:  # this file's failure: the other inputs are still done
        capture.release()
        reason = str(error).removeprefix(f"{partial_video}: ")
        return VideoResult(
            path, size=size, fps=fps, frames_expected=expected, error=f"{path}: no annotated video: {reason}"
        )
    loop = FrameLoop(model, detector, options, fps, size, windows=windows)
    drawn = DrawnFrames(writer, result.output, threaded=workers > 1) if draw else None
    bar = tqdm(total=expected, desc=path.name, unit="frame", disable=not progress, leave=False)
    failed = None
    frames = prefetched(read_frames(capture)) if workers > 1 else read_frames(capture)  # decoded a frame ahead
    try:
        for index, frame in enumerate(frames):
            if (frame.shape[1], frame.shape[0]) != size:
                frame = cv2.resize(frame, size)  # some streams change size; the writer cannot
            faces = loop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), index)
            if drawn is not None:
                drawn.put(index, frame, faces)
            result.faces += faces
            result.frames += 1
            bar.update()
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
        frames.close()  # the decoding thread has stopped: the capture can go
        capture.release()
        if drawn is not None:
            failed = drawn.finish()
            if drawn.written < result.frames:  # the drawing thread stopped early: keep the frames it wrote
                result.faces = [face for face in result.faces if face.frame < drawn.written]
                result.frames = drawn.written
            if isinstance(failed, KeyboardInterrupt):
                result.interrupted, failed = True, None
        if writer is not None:
            writer.close()
        if draw and result.frames:
            os.replace(partial_video, result.video)
        else:
            partial_video.unlink(missing_ok=True)
            result.video = result.output = None
    if failed is not None:
        raise failed
    result.seconds = time.perf_counter() - start
    if not result.frames and not result.interrupted:
        result.error = f"{path}: no frame could be read: damaged, or not a video; copy it again"
    elif expected and result.frames < expected and not result.interrupted:
        result.error = (
            f"{path}: truncated or damaged: {result.frames} of the {expected} frames its header announces could "
            f"be read; those are kept"
        )
    return result
