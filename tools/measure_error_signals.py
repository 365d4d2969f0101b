"""Which per-face signal ranks faces by their true NME: the mirror disagreement the predictor uses, the spread of the
predictions over jittered crops, the detector's score, and their fitted combination
(docs/decisions/0075-error-estimate-jittered-crops.md).

    .venv/bin/python tools/measure_error_signals.py ../shared/data/labelled/{fgnet,helen,frames} [--photos 150]

Only the people the shipped model's training held out are used (its card's ``valid_identities``); the labels are
moved into the Kaggle convention, as ``keypoints evaluate-photos`` scores them.
"""

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from keypoints.data.conventions import OFFSETS
from keypoints.data.schema import KEYPOINT_COLUMNS, column_indices
from keypoints.measure.evaluation import held_out_files
from keypoints.measure.labelled import labelled_photos
from keypoints.measure.metrics import nme
from keypoints.measure.photos import found_labelled_faces
from keypoints.predict.crops.align import AlignedCrop, aligned_to_photo, cut_aligned
from keypoints.predict.detect import make_detector
from keypoints.predict.estimates.confidence import predict_with_disagreement, spearman
from keypoints.predict.photo.pipeline import load_predictor_model

JITTERS = [
    (0.10, 0.0, 0.0, 0.0),
    (-0.10, 0.0, 0.0, 0.0),
    (0.0, 0.08, 0.0, 0.0),
    (0.0, -0.08, 0.0, 0.0),
    (0.0, 0.0, 0.04, 0.0),
    (0.0, 0.0, -0.04, 0.0),
    (0.0, 0.0, 0.0, 0.04),
    (0.0, 0.0, 0.0, -0.04),
]
"""(turn in radians, scale, shift right and down as shares of the side) of each extra crop around the kept one."""


def face_signals(folder, model, detector, photos):
    """Per held-out face found: true NME, mirror disagreement, spread over the jittered crops, their mirror
    disagreement, the detector's score (rows of an (F, 5) array)."""
    order = column_indices(model.columns, KEYPOINT_COLUMNS)
    mirror_sum = model.card["flip_mirror_sum_px"]
    items = labelled_photos(folder, files=held_out_files(folder, model.card))[:photos]
    rows = []
    for _, gray, face, truth in found_labelled_faces(items, model, detector, offset=OFFSETS.get(folder.name)):
        if face is None:
            continue
        crop = face.crop
        crops = [
            AlignedCrop(crop.cx + dx * crop.side, crop.cy + dy * crop.side, crop.side * (1 + s), crop.angle + a)
            for a, s, dx, dy in JITTERS
        ]
        pixels, gaps = predict_with_disagreement(model.module, cut_aligned(gray, crops), model.columns, mirror_sum)
        pixels = pixels[:, order].reshape(len(crops), -1, 2)
        points = np.array([aligned_to_photo(p, c) for p, c in zip(pixels, crops)])
        spread = np.linalg.norm(points - points.mean(axis=0), axis=2).mean() * 96 / crop.side
        rows.append((nme(face.keypoints, truth), face.disagreement, spread, float(np.mean(gaps)), face.score))
    return np.array(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--photos", type=int, default=150, help="held-out photos per folder (default 150)")
    args = parser.parse_args()
    model, detector = load_predictor_model(), make_detector()
    signals = {folder.name: face_signals(folder, model, detector, args.photos) for folder in args.folders}
    names = ["mirror disagreement", "spread over 8 jittered crops", "their mirror disagreement", "detector score"]
    for source, rows in signals.items():
        print(f"{source}: {len(rows)} held-out faces, NME {rows[:, 0].mean():.4f}; Spearman against the true NME:")
        for j, name in enumerate(names, 1):
            print(f"  {name:30s} {spearman(-rows[:, j] if j == 4 else rows[:, j], rows[:, 0]):.3f}")
        ranks = rankdata(rows[:, 1]) + rankdata(rows[:, 2])
        print(f"  {'mirror + spread, rank sum':30s} {spearman(ranks, rows[:, 0]):.3f}")
    if len(signals) < 2:
        return
    print("log NME fitted on log mirror, log spread, log their mirror, score, on the other folders:")

    def features(rows):
        return np.column_stack([np.log(rows[:, 1:4]), rows[:, 4], np.ones(len(rows))])

    for source, rows in signals.items():
        others = np.vstack([r for s, r in signals.items() if s != source])
        weights, *_ = np.linalg.lstsq(features(others), np.log(others[:, 0]), rcond=None)
        print(f"  {source}: Spearman {spearman(features(rows) @ weights, rows[:, 0]):.3f}")


if __name__ == "__main__":
    main()
