"""The photo predictor: find faces in people's photos and draw their 15 keypoints.

One module per stage: :mod:`~keypoints.predict.discover` (which files),
:mod:`~keypoints.predict.read` (pixels, robustly), :mod:`~keypoints.predict.detect`
(Haar cascade), :mod:`~keypoints.predict.crop` (framing and the exact map back
to photo pixels), :mod:`~keypoints.predict.draw`, :mod:`~keypoints.predict.outputs`
(CSV and HTML) and :mod:`~keypoints.predict.pipeline`, which runs them.
"""

from keypoints.predict.detect import FaceDetector
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
    "PhotoFace",
    "FaceDetector",
    "PhotoResult",
    "PredictionSummary",
    "load_predictor_model",
    "predict_file",
    "predict_image",
    "predict_photos",
]
