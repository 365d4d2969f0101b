"""The head-pose figures of docs/decisions/0067-head-pose.md, on a labelled photo folder.

    .venv/bin/python tools/measure_pose.py FOLDER [--photos 100] [--angle 30]

FOLDER holds photos and ``keypoints.csv`` (the layout ``keypoints evaluate-photos`` reads). For each of
``--photos`` photos (a seeded sample): the pose from the hand-labelled keypoints and from the predicted ones,
and the roll measured on the photo turned by +-``--angle`` degrees (on a canvas large enough to keep it whole).
"""

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from keypoints import Predictor
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.measure.photos import turned_on_diagonal
from keypoints.predict.estimates.pose import head_pose


def nearest(faces, centre):
    """The keypoints (15, 2) of the face whose keypoints' centre is nearest ``centre``; None without faces."""
    if not len(faces):
        return None
    return faces.keypoints[int(np.argmin(np.linalg.norm(faces.keypoints.mean(axis=1) - centre, axis=1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--angle", type=float, default=30.0)
    args = parser.parse_args()
    table = pd.read_csv(args.folder / "keypoints.csv").dropna()
    table = table.sample(min(args.photos, len(table)), random_state=0)
    predict = Predictor()
    labelled, predicted, rolls = [], [], {args.angle: [], -args.angle: []}
    for name, truth in zip(table.file, table[list(KEYPOINT_COLUMNS)].to_numpy().reshape(-1, 15, 2)):
        image = cv2.imread(str(args.folder / name))
        size = (image.shape[1], image.shape[0])
        points = nearest(predict(image, channels="bgr"), truth.mean(axis=0))
        if points is None:
            continue
        labelled.append(head_pose(truth, size))
        predicted.append(head_pose(points, size))
        for angle in rolls:
            copy, matrix = turned_on_diagonal(image, angle)
            centre = matrix[:, :2] @ truth.mean(axis=0) + matrix[:, 2]
            moved = nearest(predict(copy, channels="bgr"), centre)
            if moved is not None:
                rolls[angle].append(head_pose(moved, (copy.shape[1], copy.shape[0]))[2] - predicted[-1][2])
    labelled, predicted = np.array(labelled), np.array(predicted)
    print(f"{args.folder}: {len(predicted)} of {len(table)} photos with the face found")
    difference = np.abs(predicted - labelled)
    for k, name in enumerate(("yaw", "pitch", "roll")):
        print(
            f"  {name}: labelled keypoints median {np.median(labelled[:, k]):+.1f} deg, IQR "
            f"{np.subtract(*np.percentile(labelled[:, k], [75, 25])):.1f}; predicted minus labelled: median |d| "
            f"{np.median(difference[:, k]):.1f} deg, 90th percentile {np.percentile(difference[:, k], 90):.1f}"
        )
    for angle, found in rolls.items():
        error = np.array(found) - angle
        print(
            f"  turned {angle:+.0f} deg: {len(found)} found; roll change {np.mean(found):+.2f} deg "
            f"(error median |e| {np.median(np.abs(error)):.2f}, 90th percentile {np.percentile(np.abs(error), 90):.2f},"
            f" max {np.abs(error).max():.2f})"
        )


if __name__ == "__main__":
    main()
