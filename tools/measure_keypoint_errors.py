"""The per-keypoint error estimate against the true error of each keypoint, on a labelled photo folder
(docs/decisions/0066-per-keypoint-error-estimate.md).

    .venv/bin/python tools/measure_keypoint_errors.py FOLDER [--photos 200]
"""

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from keypoints import Predictor
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.predict.estimates.confidence import spearman


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--photos", type=int, default=200)
    args = parser.parse_args()
    table = pd.read_csv(args.folder / "keypoints.csv").dropna()
    table = table.sample(min(args.photos, len(table)), random_state=0)
    predict = Predictor()
    estimated, true = [], []
    for name, truth in zip(table.file, table[list(KEYPOINT_COLUMNS)].to_numpy().reshape(-1, 15, 2)):
        faces = predict(cv2.imread(str(args.folder / name)), channels="bgr")
        if not len(faces):
            continue
        nearest = int(np.argmin(np.linalg.norm(faces.keypoints.mean(axis=1) - truth.mean(axis=0), axis=1)))
        estimated.append(faces.keypoint_errors_px[nearest])
        true.append(np.linalg.norm(faces.keypoints[nearest] - truth, axis=1))
    estimated, true = np.array(estimated), np.array(true)
    print(f"{args.folder}: {len(true)} faces found of {len(table)}")
    print(f"  all keypoints pooled: Spearman {spearman(estimated.ravel(), true.ravel()):.3f}")
    within = [spearman(e, t) for e, t in zip(estimated, true)]
    print(f"  within a face (which keypoints are worse), median Spearman {np.median(within):.3f}")
    faces_rho = spearman(estimated.mean(axis=1), true.mean(axis=1))
    print(f"  per face (the mean, error_px): Spearman {faces_rho:.3f}")
    for k, name in enumerate(KEYPOINTS):
        print(
            f"  {name:25s} estimate {np.median(estimated[:, k]):5.2f} px, true {np.median(true[:, k]):5.2f} px "
            f"(medians), Spearman {spearman(estimated[:, k], true[:, k]):.3f}"
        )


if __name__ == "__main__":
    main()
