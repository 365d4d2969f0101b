"""Tracking against predicting every frame as a photo: the video figures (docs/figures.md, docs/decisions/README.md).

    PYTHONPATH=. python tools/video_figures.py PHOTOS_DIR [--photos 0,5,12] [--detect-every 1,5,10,20]

For each labelled photo named (rows of PHOTOS_DIR/keypoints.csv), writes a 640x480 clip of it moving
along ``keypoints.measure.clips.PATH`` and prints ``measure_clip``'s figures; with several
``--detect-every`` values, the figures for each.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from keypoints.measure.clips import labelled_photo, make_clip
from keypoints.measure.video import measure_clip, track_clip
from keypoints.predict import load_predictor_model
from keypoints.predict.detect import make_detector

KEYS = (
    "nme_photo",
    "nme_raw",
    "nme_smooth",
    "found_photo",
    "found_raw",
    "jitter_raw",
    "jitter_smooth",
    "jitter_ratio",
    "lag_raw",
    "lag_smooth",
    "fps_photo",
    "fps_video",
    "speedup",
    "detections",
    "frames",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder of labelled photos (keypoints.csv)")
    parser.add_argument("--photos", dest="rows", default="0,5,12", help="rows of keypoints.csv, from 0")
    parser.add_argument("--detect-every", default="10", help="frames between detections; a list to compare")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    model = load_predictor_model(args.model)
    with tempfile.TemporaryDirectory(prefix="keypoints-video-") as folder:
        clips = []
        for row in (int(r) for r in args.rows.split(",")):
            image, keypoints, name = labelled_photo(args.photos, row)
            clip = make_clip(image, keypoints, Path(folder) / f"clip{row}.mp4")
            clips.append((name, clip, track_clip(clip.path, clip.truth, model, make_detector(), as_photos=True)))
        for every in (int(n) for n in args.detect_every.split(",")):
            figures = []
            for name, clip, photo_run in clips:
                figures.append(measure_clip(model, clip, detect_every=every, photo_run=photo_run))
                print(f"detect every {every}, {name}: " + ", ".join(f"{k} {figures[-1][k]:.4g}" for k in KEYS))
            mean = {k: float(np.mean([f[k] for f in figures])) for k in KEYS}
            print(f"detect every {every}, mean: " + ", ".join(f"{k} {mean[k]:.4g}" for k in KEYS), flush=True)


if __name__ == "__main__":
    main()
