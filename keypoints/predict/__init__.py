"""The photo predictor: find faces in people's photos and draw their 15 keypoints.

One module per stage: :mod:`~keypoints.predict.discover` (which files),
:mod:`~keypoints.predict.read` (pixels, robustly), :mod:`~keypoints.predict.detect`
(YuNet, Haar; :func:`make_detector`), :mod:`~keypoints.predict.align` (upright
crops from the landmarks, and the exact map back), :mod:`~keypoints.predict.crop`
(upright squares from a box), :mod:`~keypoints.predict.confidence` (the estimated
keypoint error), :mod:`~keypoints.predict.draw`, :mod:`~keypoints.predict.outputs`
(CSV and HTML) and :mod:`~keypoints.predict.pipeline`, which runs them.
"""

from keypoints.predict.detect import Detections, make_detector
from keypoints.predict.pipeline import (
    PhotoFace,
    PhotoResult,
    PredictionSummary,
    load_predictor_model,
    predict_file,
    predict_image,
    predict_photos,
)

__all__ = [
    "Detections",
    "PhotoFace",
    "make_detector",
    "PhotoResult",
    "PredictionSummary",
    "load_predictor_model",
    "predict_file",
    "predict_image",
    "predict_photos",
]
