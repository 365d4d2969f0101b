"""The predictor: find faces in people's photos and videos and draw their 15 keypoints.

Its parts, each a subpackage, from the inputs up: :mod:`~keypoints.predict.inputs` (which files, their pixels),
:mod:`~keypoints.predict.detect` (YuNet, Haar; :func:`make_detector`), :mod:`~keypoints.predict.crops` (where each
face is cut, and the map back), :mod:`~keypoints.predict.estimates` (the keypoints' estimated error, the head's
pose), :mod:`~keypoints.predict.outputs` (drawings, files, the results page), :mod:`~keypoints.predict.photo` (one
photo, start to end, and photos on several cores) and :mod:`~keypoints.predict.video` (faces followed through a
video). :mod:`~keypoints.predict.batch` runs them over many photos and videos and writes the results; one
:class:`~keypoints.predict.options.PredictOptions` says how, for photos and videos alike. Measuring the predictor is
apart, in :mod:`keypoints.measure`.
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
    "PhotoFace": "keypoints.predict.photo.pipeline",
    "PhotoResult": "keypoints.predict.photo.pipeline",
    "load_predictor_model": "keypoints.predict.photo.pipeline",
    "predict_file": "keypoints.predict.photo.pipeline",
    "predict_image": "keypoints.predict.photo.pipeline",
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
