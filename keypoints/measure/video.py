"""Measuring the video predictor on clips with known keypoints: accuracy, jitter, lag and speed.

Entry points::

    points, seconds, detections = track_clip(clip.path, clip.truth, model)   # the true face, every frame
    figures = measure_clip(model, clip)                                       # photo run against tracking

The clips come from :mod:`keypoints.measure.clips`; the predictor is :mod:`keypoints.predict.video.pipeline`'s,
as photos are measured in :mod:`keypoints.measure.photos` apart from :mod:`keypoints.predict.photo.pipeline`.
"""

import time

import cv2
import numpy as np

from keypoints.measure.metrics import nme
from keypoints.predict.detect import make_detector
from keypoints.predict.options import DETECT_EVERY, PredictOptions
from keypoints.predict.photo.pipeline import predict_faces
from keypoints.predict.video.pipeline import TRACK_PASSES, FrameLoop, open_video, read_frames


def track_clip(
    path, truth, model, detector=None, smooth=True, detect_every=DETECT_EVERY, as_photos=False, passes=TRACK_PASSES
):
    """Keypoints of the true face in every frame of a clip, nothing written (for measurements).

    The face scored in a frame is the one whose keypoints' centre lies nearest the true centre, as
    :func:`keypoints.measure.photos.evaluate_photos` scores the detection holding the true centre.

    Parameters
    ----------
    path : str or Path
    truth : ndarray, shape (N, 15, 2)
    model : LoadedModel
    detector, smooth, detect_every, passes
        As for :class:`~keypoints.predict.video.pipeline.FrameLoop` (``smooth`` and ``detect_every`` as in
        :class:`~keypoints.predict.options.PredictOptions`).
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
    loop = FrameLoop(model, detector, PredictOptions(smooth=smooth, detect_every=detect_every), fps, size, passes)
    points, start = [], time.perf_counter()
    for index, frame in enumerate(read_frames(capture)):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        faces = predict_faces(gray, detector.detect(gray), model) if as_photos else loop(gray, index)
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
    """The video figures on a clip with known keypoints (see :mod:`keypoints.measure.clips`).

    Runs the clip three times: every frame as a photo, tracked without smoothing, tracked with it.

    Parameters
    ----------
    model : LoadedModel
    clip : Clip
    detect_every : int
    detector : FaceDetector, optional
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
