"""Small faces: the share found at each face size, with and without ``--upsample``
(docs/decisions/0068-small-faces-upsample.md).

    .venv/bin/python tools/measure_small_faces.py PHOTOS_DIR [--sizes 16,18,20,22,24,26,28,30] [--upsample 1,2,3,4]

PHOTOS_DIR holds labelled photos and ``keypoints.csv`` (``/work/shared/photos``-like: one face each). For each
face size S (2 x the distance between the eye centres, about YuNet's box width), every photo is shrunk so its
face is S px wide and the photos are pasted in a grid on a grey 1920x1080 canvas (and, for the single-face
case, one photo in a 1280x960 canvas); a face counts as found when a detection's box holds its true keypoints'
centre, and every other detection as false.
"""

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from keypoints.measure.labelled import labelled_photos
from keypoints.predict.detect import make_detector

CANVAS = (1920, 1080)
COLUMNS, ROWS = 6, 4


def grid(photos, face_px, canvas=CANVAS):
    """The photos shrunk to faces of ``face_px`` and pasted in a grid: the canvas and the true centres (N, 2)."""
    width, height = canvas
    image = np.full((height, width, 3), 128, np.uint8)
    cell_w, cell_h = width // COLUMNS, height // ROWS
    centres = []
    for index, (_, photo, truth) in enumerate(photos[: COLUMNS * ROWS]):
        scale = face_px / (2 * np.linalg.norm(truth[0] - truth[1]))
        small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small = small[:cell_h, :cell_w]
        x0 = (index % COLUMNS) * cell_w + (cell_w - small.shape[1]) // 2
        y0 = (index // COLUMNS) * cell_h + (cell_h - small.shape[0]) // 2
        image[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
        centres.append((truth.mean(axis=0) + 0.5) * scale - 0.5 + np.array([x0, y0]))
    return image, np.array(centres)


def score(boxes, centres):
    """Faces found (a box holds the true centre) and false detections (boxes that hold none)."""
    holds = np.array(
        [[x <= cx <= x + w and y <= cy <= y + h for cx, cy in centres] for x, y, w, h in boxes], dtype=bool
    ).reshape(len(boxes), len(centres))
    return int(holds.any(axis=0).sum()), int((~holds.any(axis=1)).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--sizes", default="16,18,20,22,24,26,28,30")
    parser.add_argument("--upsample", default="1,2,3,4")
    args = parser.parse_args()
    photos = labelled_photos(args.folder)
    sizes = [int(v) for v in args.sizes.split(",")]
    factors = [int(v) for v in args.upsample.split(",")]
    detectors = {n: make_detector("yunet", upsample=n) for n in factors}
    print(f"{len(photos[: COLUMNS * ROWS])} faces per {CANVAS[0]}x{CANVAS[1]} grid; found (false) per face size")
    print("face px | " + " | ".join(f"--upsample {n}" for n in factors))
    seconds = {n: [] for n in factors}
    for size in sizes:
        image, centres = grid(photos, size)
        cells = []
        for n, detector in detectors.items():
            start = time.perf_counter()
            found = detector.detect(image)
            seconds[n].append(time.perf_counter() - start)
            kept = found.boxes[~(found.scores < detector.min_score)]
            hit, false = score(kept, centres)
            cells.append(f"{hit}/{len(centres)} ({false})")
        print(f"{size:7d} | " + " | ".join(cells))
    print("detection s per 1920x1080 photo | " + " | ".join(f"{np.median(seconds[n]):.2f}" for n in factors))
    single = []
    for detector in detectors.values():
        found_any = 0
        for _, photo, truth in photos:
            image, centres = grid([(None, photo, truth)], 18, canvas=(1280, 960))
            boxes = detector.detect(image)
            found_any += score(boxes.boxes[~(boxes.scores < detector.min_score)], centres)[0]
        single.append(f"{found_any}/{len(photos)}")
    print("one 18-px face in a 1280x960 photo | " + " | ".join(single))


if __name__ == "__main__":
    main()
