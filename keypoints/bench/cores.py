"""A folder of photos and a written video on the default workers against one worker, in the same run.

``predict_photos`` as ``keypoints predict`` runs it (the shipped model, YuNet), in this process, on the
photos of the peer rows (``keypoints.bench.peers._photos``): ``--no-images`` and the default run
(annotated photos, face crops, page) with the default ``--workers`` against ``--workers 1``, and what the
images and the page cost against ``--no-images``; then a 640x480 clip written with its annotated copy, its
frames drawn and encoded beside the tracking against all in one thread. Alternating runs, the best of each.
"""

import shutil
import time
from pathlib import Path

import cv2

from keypoints.bench.peers import _photos
from keypoints.bench.photos import _bench_model
from keypoints.bench.table import BenchRow
from keypoints.bench.video import FACE_SIDE
from keypoints.data.synthetic import generate_faces
from keypoints.measure.clips import make_clip
from keypoints.predict.batch import predict_photos
from keypoints.predict.photo.pipeline import load_predictor_model
from keypoints.predict.photo.workers import default_workers
from keypoints.predict.video.pipeline import predict_video

WRITING_TARGET = 1.3
"""The default run (images and page) may take at most this many times the ``--no-images`` run."""


def bench_cores(folder, settings, say=print):
    """Photos per second with the default workers against one, with and without images; a video's frames/s.

    Parameters
    ----------
    folder : str or Path
        Scratch space: the photos' copies, the clip and the outputs.
    settings : BenchSettings
        ``peer_photos`` photos, ``peer_rounds`` alternating rounds, the clip of ``video_size``, ``video_seconds``.
    say : callable

    Returns
    -------
    list of BenchRow
    """
    folder = Path(folder)
    photos = _photos(folder, settings)
    model = load_predictor_model(_bench_model(folder))
    workers = default_workers()
    runs = {(images, w): float("inf") for images in (False, True) for w in (1, workers)}
    faces = {}
    for round_ in range(settings.size("peer_rounds")):
        for images, w in runs:
            out = folder / f"cores_{int(images)}_{w}_{round_}"
            started = time.perf_counter()
            summary = predict_photos([photos[0].parent], model, out, images=images, workers=w)
            runs[images, w] = min(runs[images, w], time.perf_counter() - started)
            faces[images, w] = summary.n_faces
            shutil.rmtree(out, ignore_errors=True)
    count = len(photos)
    rate = {key: count / seconds for key, seconds in runs.items()}
    details = {"photos": count, "workers": workers, "faces_found": {f"{k[0]}_{k[1]}": v for k, v in faces.items()}}
    rows = []
    for images, title in ((False, "--no-images"), (True, "images and page")):
        say(
            f"cores: {count} photos, {title}: {rate[images, workers]:.1f} photos/s with --workers {workers}, "
            f"{rate[images, 1]:.1f} with --workers 1"
        )
        rows.append(
            BenchRow(
                f"{count} photos, {title}: --workers {workers} (photos/s)",
                rate[images, workers],
                rate[images, 1],
                "--workers 1, one photo after another",
                unit="photos/s",
                higher_is_better=True,
                section="cores",
                details=details,
            )
        )
    share = runs[True, workers] / runs[False, workers]
    say(f"cores: images and page take {share:.2f}x the --no-images run (target at most {WRITING_TARGET}x)")
    rows.append(
        BenchRow(
            f"{count} photos, --workers {workers}: images and page (s per photo)",
            runs[True, workers] / count,
            runs[False, workers] / count,
            f"--no-images (target: at most {WRITING_TARGET}x its time)",
            section="cores",
            details={**details, "meets_target": bool(share <= WRITING_TARGET)},
        )
    )
    rows.append(_video_row(folder, settings, model, workers, say))
    return rows


def _video_row(folder, settings, model, workers, say):
    """Frames per second of a clip tracked and written (drawn, H.264) with ``workers`` against one."""
    images, keypoints = generate_faces(1, seed=0)
    face = cv2.resize(images[0, 0], (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC)
    points = (keypoints[0].reshape(-1, 2) + 0.5) * FACE_SIDE / images.shape[-1] - 0.5
    width, height = settings.size("video_size")
    clip = make_clip(
        face, points, folder / "cores_clip.avi", seconds=settings.size("video_seconds"), size=(width, height)
    )
    best = {1: float("inf"), workers: float("inf")}
    for round_ in range(settings.size("peer_rounds")):
        for w in best:
            result = predict_video(clip.path, model, folder / f"cores_video_{w}_{round_}", workers=w)
            best[w] = min(best[w], result.seconds)
    fps = {w: clip.n_frames / seconds for w, seconds in best.items()}
    say(
        f"cores: video {width}x{height} written: {fps[workers]:.1f} frames/s with --workers {workers}, "
        f"{fps[1]:.1f} with 1"
    )
    return BenchRow(
        f"video {width}x{height}, one face, tracked and written: --workers {workers} (frames/s)",
        fps[workers],
        fps[1],
        "--workers 1: drawing and encoding in the tracking thread",
        unit="frames/s",
        higher_is_better=True,
        section="cores",
        details={"frames": clip.n_frames, "workers": workers},
    )
