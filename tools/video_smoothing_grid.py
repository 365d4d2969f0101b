"""The grid behind the One Euro settings (docs/decisions/0026-one-euro-filter-settings.md).

    PYTHONPATH=. python tools/video_smoothing_grid.py PHOTOS_DIR [--photos 0,5,12]

Tracks each clip once without smoothing, then replays the keypoints of each track through the
filter at every setting of the grid, and prints NME, jitter ratio and lag (as ``measure_clip``
defines them) averaged over the clips, and the jitter ratio of the worst clip.
"""

import argparse
import itertools
import tempfile
from pathlib import Path

import cv2
import numpy as np

from keypoints.measure.clips import labelled_photo, make_clip
from keypoints.measure.video import frame_nme, jitter, lag
from keypoints.predict import load_predictor_model
from keypoints.predict.options import PredictOptions
from keypoints.predict.video.pipeline import FrameLoop, read_frames
from keypoints.predict.video.smoothing import OneEuroFilter


def true_face_tracks(model, clip):
    """Per frame: (track number or None, unsmoothed keypoints (15, 2), crop side) of the face nearest the truth."""
    capture, loop, record = cv2.VideoCapture(str(clip.path)), FrameLoop(model, options=PredictOptions(smooth=False)), []
    for index, frame in enumerate(read_frames(capture)):
        faces = loop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), index)
        centre = clip.truth[index].mean(axis=0)
        best = min(faces, key=lambda f: np.linalg.norm(f.keypoints.mean(axis=0) - centre), default=None)
        record.append(
            (None, np.full((15, 2), np.nan), None) if best is None else (best.track, best.keypoints, best.box[2])
        )
    return record


def replay(record, fps, **settings):
    out, smoother, last = [], None, None
    for index, (track, points, width) in enumerate(record):
        if track is None:
            out.append(points)
            smoother = last = None
            continue
        if track != last:
            smoother, last = OneEuroFilter(unit=width * 1.08 / 96, **settings), track
        out.append(smoother(points, index / fps))
    return np.array(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--photos", dest="rows", default="0,5,12")
    args = parser.parse_args()
    model = load_predictor_model()
    with tempfile.TemporaryDirectory(prefix="keypoints-grid-") as folder:
        clips = []
        for row in (int(r) for r in args.rows.split(",")):
            image, keypoints, _ = labelled_photo(args.photos, row)
            clip = make_clip(image, keypoints, Path(folder) / f"clip{row}.mp4")
            clips.append((clip, true_face_tracks(model, clip)))
    for d_cutoff, min_cutoff, beta in itertools.product(
        (1.0, 2.0, 4.0), (0.05, 0.1, 0.3, 1.0), (0.02, 0.05, 0.1, 0.2, 0.4)
    ):
        figures = []
        for clip, record in clips:
            raw = np.array([points for _, points, _ in record])
            smooth = replay(record, clip.fps, min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
            nme_raw, nme_smooth = frame_nme(raw, clip.truth), frame_nme(smooth, clip.truth)
            both = np.isfinite(nme_raw) & np.isfinite(nme_smooth)
            ratio = jitter(raw, clip.truth, clip.still) / jitter(smooth, clip.truth, clip.still)
            figures.append((nme_raw[both].mean(), nme_smooth[both].mean(), ratio, lag(smooth, clip.truth, clip.still)))
        mean = np.mean(figures, axis=0)
        print(
            f"d_cutoff {d_cutoff} min_cutoff {min_cutoff} beta {beta}: NME raw {mean[0]:.4f} smooth {mean[1]:.4f}, "
            f"jitter ratio {mean[2]:.2f} (worst clip {min(f[2] for f in figures):.2f}), lag {mean[3]:.2f} frames",
            flush=True,
        )


if __name__ == "__main__":
    main()
