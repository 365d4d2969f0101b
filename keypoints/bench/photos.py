"""Photos end to end (read, detect, predict, draw) against the naive way's detection alone.

The detector is an argument, so that each detector the predictor offers gets
its own rows; the baseline is OpenCV's Haar cascade on the full-size photo.
"""

import os
from pathlib import Path

import cv2
import numpy as np
import torch

from keypoints import paths
from keypoints.bench.table import BenchRow
from keypoints.bench.timing import best_of
from keypoints.data.synthetic import generate_faces
from keypoints.model.checkpoint import save_model
from keypoints.networks import build_network
from keypoints.predict.detect import haar, make_detector
from keypoints.predict.photo.pipeline import load_predictor_model, predict_file


def full_size_cascade():
    """The naive way's detection: read the photo, then OpenCV's cascade at its own size (no resizing).

    Uses the predictor's cascade settings. Returns a function of a path.
    """
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / haar.CASCADE_FILE))

    def detect_full_size(path):
        gray = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)
        return cascade.detectMultiScale(
            gray,
            scaleFactor=haar.SCALE_FACTOR,
            minNeighbors=haar.MIN_NEIGHBORS,
            minSize=(haar.MIN_FACE, haar.MIN_FACE),
        )

    return detect_full_size


def bench_photos(folder, settings, detector, label="", say=print):
    """Seconds per photo end to end with the predictor's entry point, for one detector.

    The baseline is :func:`full_size_cascade`. It leaves out prediction and
    drawing, so it flatters the baseline.

    Parameters
    ----------
    folder : str or Path
        Where the photos are written.
    settings : BenchSettings
    detector : object
        What :func:`predict_file` detects with: a :class:`~keypoints.predict.detect.FaceDetector`.
    label : str
        Added to the row names (empty for the default detector, so its rows keep their names).
    say : callable

    Returns
    -------
    list of BenchRow
    """
    model = load_predictor_model(_bench_model(folder))
    source = _photo_source()
    naive = full_size_cascade()
    suffix = f", {label}" if label else ""
    rows = []
    for width, height in settings.size("photos"):
        path = Path(folder) / f"photo_{width}x{height}.jpg"
        cv2.imwrite(str(path), cv2.resize(source, (width, height), interpolation=cv2.INTER_CUBIC))
        found = len(predict_file(path, model, detector).faces)  # warm-up, and the faces found
        ours, _ = best_of(lambda path=path: predict_file(path, model, detector), settings.size("photo_repeats"))
        baseline, _ = best_of(lambda path=path: naive(path), 1)
        say(f"photo {width}x{height}{suffix}: {ours * 1000:.0f} ms per photo, {found} face(s)")
        rows.append(
            BenchRow(
                f"photo {width}x{height} end to end{suffix} ({found} face(s))",
                ours,
                baseline,
                "read + cascade on the full-size photo",
                section="prediction",
                details={"faces_found": found, "model": model.network.name, "detector": type(detector).__name__},
            )
        )
    return rows


def bench_detector_paths(folder, settings, say=print):
    """Seconds per photo end to end with the default detector (YuNet) against the Haar path, in the same run.

    Both go through :func:`predict_file` with the same model: read, detect, align or cut, predict, draw.

    Parameters
    ----------
    folder : str or Path
        Where the photos are written.
    settings : BenchSettings
    say : callable

    Returns
    -------
    list of BenchRow
    """
    model = load_predictor_model(_bench_model(folder))
    source = _photo_source()
    yunet, cascade = make_detector("yunet"), make_detector("haar")
    rows = []
    for width, height in settings.size("photos"):
        path = Path(folder) / f"detectors_{width}x{height}.jpg"
        cv2.imwrite(str(path), cv2.resize(source, (width, height), interpolation=cv2.INTER_CUBIC))
        found = {name: len(predict_file(path, model, d).faces) for name, d in (("yunet", yunet), ("haar", cascade))}
        repeats = settings.size("photo_repeats")
        ours, _ = best_of(lambda path=path: predict_file(path, model, yunet), repeats)
        baseline, _ = best_of(lambda path=path: predict_file(path, model, cascade), repeats)
        say(f"photo {width}x{height}: YuNet path {ours * 1000:.0f} ms, Haar path {baseline * 1000:.0f} ms")
        rows.append(
            BenchRow(
                f"photo {width}x{height} end to end, YuNet path vs Haar path",
                ours,
                baseline,
                "the same photo with --detector haar",
                section="prediction",
                details={"faces_found": found, "model": model.network.name},
            )
        )
    return rows


def _bench_model(folder):
    """The predictor's default model when there is one, else an untrained bnconv (same speed)."""
    if paths.DEFAULT_MODEL.is_file():
        return paths.DEFAULT_MODEL
    torch.manual_seed(0)
    return save_model(Path(folder) / "bnconv.pt", "bnconv", build_network("bnconv"), {"note": "untrained, bench"})


def _photo_source():
    """A photo with a face: the first of the shared photos when KEYPOINTS_DATA_DIR is set, else a synthetic face."""
    data_dir = os.environ.get("KEYPOINTS_DATA_DIR")
    if data_dir:
        photos = sorted((Path(data_dir).parent / "photos").glob("*.jpg"))
        if photos:
            return cv2.imread(str(photos[0]))
    images, _ = generate_faces(1, seed=0)
    face = cv2.resize(images[0, 0], (240, 240), interpolation=cv2.INTER_CUBIC)
    photo = np.full((480, 640), 128, np.uint8)
    photo[120:360, 200:440] = face
    return cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR)
