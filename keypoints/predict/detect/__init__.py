"""Face detectors behind one small interface, and the factory that makes them.

A detector is any object with a ``name``, a ``min_score`` and a method
``detect(image) -> Detections``; :func:`make_detector` makes one by name. A
third detector is one module here that defines such a class and adds it to
``DETECTORS``.

- ``yunet`` (the default): YuNet, a small CNN, through ``cv2.FaceDetectorYN``
  (:mod:`~keypoints.predict.detect.yunet`): a box, a score and five landmarks per face.
- ``haar``: OpenCV's frontal-face Haar cascade (:mod:`~keypoints.predict.detect.haar`):
  boxes only, no score and no landmarks.
"""

from keypoints.predict.detect.base import LANDMARKS, Detections, as_detections, no_detections, search_copy


def detector_names():
    """Names :func:`make_detector` accepts, the default first."""
    return list(_detectors())


def make_detector(name="yunet", min_score=None, **settings):
    """A face detector by name.

    Parameters
    ----------
    name : str
        ``yunet`` (default) or ``haar``.
    min_score : float, optional
        Faces scored below it are marked low (and left out by the predictor unless asked for);
        default: the detector's own ``MIN_SCORE``. Haar gives no score, so it has no effect there.
    **settings
        Passed to the detector's class.

    Returns
    -------
    detector
        With ``detect(image) -> Detections``, ``name`` and ``min_score``.

    Raises
    ------
    ValueError
        An unknown name.
    """
    detectors = _detectors()
    if name not in detectors:
        raise ValueError(f"unknown detector {name!r}; use one of {', '.join(detectors)}")
    if min_score is not None:
        settings["min_score"] = min_score
    return detectors[name](**settings)


def _detectors():
    from keypoints.predict.detect.haar import HaarDetector
    from keypoints.predict.detect.yunet import YuNetDetector

    return {"yunet": YuNetDetector, "haar": HaarDetector}


from keypoints.predict.detect.haar import HaarDetector, drop_overlaps  # noqa: E402
from keypoints.predict.detect.yunet import DetectorFileError, YuNetDetector  # noqa: E402

__all__ = [
    "LANDMARKS",
    "Detections",
    "DetectorFileError",
    "HaarDetector",
    "YuNetDetector",
    "as_detections",
    "detector_names",
    "drop_overlaps",
    "make_detector",
    "no_detections",
    "search_copy",
]
