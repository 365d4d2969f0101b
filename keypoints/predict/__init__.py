"""The photo predictor: find faces in people's photos and draw their 15 keypoints.

One module per stage: :mod:`~keypoints.predict.discover` (which files),
:mod:`~keypoints.predict.read` (pixels, robustly), :mod:`~keypoints.predict.detect`
(YuNet, Haar; :func:`make_detector`), :mod:`~keypoints.predict.align` (upright
crops from the landmarks, and the exact map back), :mod:`~keypoints.predict.crop`
(upright squares from a box), :mod:`~keypoints.predict.confidence` (the estimated
keypoint error), :mod:`~keypoints.predict.draw`, :mod:`~keypoints.predict.outputs`
(CSV and HTML), :mod:`~keypoints.predict.pipeline`, which runs them on one photo,
:mod:`~keypoints.predict.video`, which follows faces through a video, and :mod:`~keypoints.predict.batch`,
which runs them over many photos and videos and writes the results. One
:class:`~keypoints.predict.options.PredictOptions` says how, for photos and videos alike; the
measurements are apart (:mod:`~keypoints.predict.accuracy`, :mod:`~keypoints.predict.video_accuracy`).
"""

import importlib

# where each public name lives; loaded on first use, so that importing a light submodule (the detector's
# settings for --help, say) does not import torch through the pipeline
_HOMES = {
    "Detections": "keypoints.predict.detect",
    "make_detector": "keypoints.predict.detect",
    "PredictOptions": "keypoints.predict.options",
    "PredictionSummary": "keypoints.predict.batch",
    "predict_photos": "keypoints.predict.batch",
    "PhotoFace": "keypoints.predict.pipeline",
    "PhotoResult": "keypoints.predict.pipeline",
    "load_predictor_model": "keypoints.predict.pipeline",
    "predict_file": "keypoints.predict.pipeline",
    "predict_image": "keypoints.predict.pipeline",
}


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'keypoints.predict' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = [
    "Detections",
    "PhotoFace",
    "make_detector",
    "PhotoResult",
    "PredictOptions",
    "PredictionSummary",
    "load_predictor_model",
    "predict_file",
    "predict_image",
    "predict_photos",
]
