"""Measuring the predictor on labelled photos: faces found and NME.

NME is the mean distance between predicted and true keypoints divided by the
distance between the true eye centres (inter-ocular), per photo, then averaged.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.errors import DataError
from keypoints.predict.detect import FaceDetector
from keypoints.predict.pipeline import REFINE_STEPS, predict_faces
from keypoints.predict.read import read_photo

_LEFT_EYE, _RIGHT_EYE = KEYPOINTS.index("left_eye_center"), KEYPOINTS.index("right_eye_center")


@dataclass
class PhotoScore:
    """One labelled photo: whether its face was found, and the NME there (NaN when not found)."""

    file: str
    found: bool
    nme: float


def nme(predicted, truth):
    """Mean keypoint error over the inter-ocular distance.

    Parameters
    ----------
    predicted, truth : ndarray, shape (15, 2)

    Returns
    -------
    float
    """
    truth = np.asarray(truth, dtype=np.float64)
    inter_ocular = np.linalg.norm(truth[_LEFT_EYE] - truth[_RIGHT_EYE])
    return float(np.linalg.norm(np.asarray(predicted) - truth, axis=1).mean() / inter_ocular)


def evaluate_photos(folder, model, labels="keypoints.csv", detector=None, refine_steps=REFINE_STEPS, windows=None):
    """Find the labelled face in each photo of a folder and score its keypoints.

    Parameters
    ----------
    folder : str or Path
        Photos and a CSV ``labels`` with a ``file`` column and the 30 Kaggle
        columns in photo pixels.
    model : LoadedModel
    labels : str
    detector : FaceDetector, optional
    refine_steps : int
    windows : FullyConvolutional, optional
        Score ``--refine`` (see :func:`keypoints.predict.pipeline.predict_faces`).

    Returns
    -------
    list of PhotoScore
        One per labelled photo; the face scored is the detection whose box
        holds the centre of the true keypoints.
    """
    folder = Path(folder)
    table_path = folder / labels
    try:
        table = pd.read_csv(table_path)
    except (OSError, pd.errors.ParserError) as error:
        raise DataError(f"{table_path}: cannot be read as a CSV ({error})") from None
    missing = [c for c in ("file", *KEYPOINT_COLUMNS) if c not in table.columns]
    if missing:
        raise DataError(f"{table_path}: missing columns {', '.join(missing)}")
    detector = detector or FaceDetector()
    scores = []
    for _, row in table.iterrows():
        truth = row[list(KEYPOINT_COLUMNS)].to_numpy(np.float64).reshape(len(KEYPOINTS), 2)
        gray = cv2.cvtColor(read_photo(folder / row["file"]), cv2.COLOR_BGR2GRAY)
        centre = truth.mean(axis=0)
        boxes = [
            b for b in detector.detect(gray) if b[0] <= centre[0] <= b[0] + b[2] and b[1] <= centre[1] <= b[1] + b[3]
        ]
        if not boxes:
            scores.append(PhotoScore(row["file"], False, float("nan")))
            continue
        face = predict_faces(gray, boxes[:1], model, refine_steps, windows)[0]
        scores.append(PhotoScore(row["file"], True, nme(face.keypoints, truth)))
    return scores
