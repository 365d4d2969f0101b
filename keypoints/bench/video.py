"""A video end to end: faces tracked between key frames against every frame predicted as a photo."""

from pathlib import Path

import cv2

from keypoints.bench.photos import _bench_model
from keypoints.bench.table import BenchRow
from keypoints.data.synthetic import generate_faces
from keypoints.measure.clips import make_clip
from keypoints.measure.video import track_clip
from keypoints.predict.detect import make_detector
from keypoints.predict.options import DETECT_EVERY
from keypoints.predict.photo.pipeline import load_predictor_model

FACE_SIDE = 240
"""Side in pixels of the synthetic face the clip moves (a face a webcam frame holds)."""


def bench_video(folder, settings, say=print):
    """Frames per second of a moving face, tracked and smoothed, against predicting every frame as a photo.

    The clip is a synthetic face moving along :data:`keypoints.measure.clips.PATH` (turning,
    scaling, still stretches), at the size the settings give; both sides read the file and
    predict, neither draws nor writes.

    Parameters
    ----------
    folder : str or Path
        Where the clip is written.
    settings : BenchSettings
    say : callable

    Returns
    -------
    list of BenchRow
    """
    model = load_predictor_model(_bench_model(folder))
    images, keypoints = generate_faces(1, seed=0)
    face = cv2.resize(images[0, 0], (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC)
    points = (keypoints[0].reshape(-1, 2) + 0.5) * FACE_SIDE / images.shape[-1] - 0.5  # pixel centres scale
    width, height = settings.size("video_size")
    clip = make_clip(
        face, points, Path(folder) / "bench_clip.avi", seconds=settings.size("video_seconds"), size=(width, height)
    )
    detector = make_detector()
    _, video_seconds, detections = track_clip(clip.path, clip.truth, model, detector, detect_every=DETECT_EVERY)
    _, photo_seconds, _ = track_clip(clip.path, clip.truth, model, detector, as_photos=True)
    frames = clip.n_frames
    fps_video, fps_photo = frames / video_seconds, frames / photo_seconds
    say(f"video {width}x{height}: tracked {fps_video:.1f} frames/s, as photos {fps_photo:.1f} frames/s")
    return [
        BenchRow(
            f"video {width}x{height}, one face, tracked (frames/s)",
            fps_video,
            fps_photo,
            "every frame predicted as a photo",
            unit="frames/s",
            higher_is_better=True,
            section="prediction",
            details={"frames": frames, "detections": int(detections), "real_time_30fps": bool(fps_video >= 30)},
        )
    ]
