"""Face detectors behind one small interface, and the factory that makes them.

Every detector is a :class:`~keypoints.predict.detect.base.FaceDetector`: a
``name``, a ``min_score``, and ``detect(image, keep_low_score=False) ->
Detections``, which applies the detector's own threshold, so callers never
filter; :func:`make_detector` makes one by name. A third detector is one module
here that subclasses ``FaceDetector`` (implementing ``find``) and is added to
``_detectors``.

- ``yunet`` (the default): YuNet, a small CNN, through ``cv2.FaceDetectorYN``
  (:mod:`~keypoints.predict.detect.yunet`): a box, a score and five landmarks per face.
- ``haar``: OpenCV's frontal-face Haar cascade (:mod:`~keypoints.predict.detect.haar`):
  boxes only, no score and no landmarks.
"""

from keypoints.errors import DetectorError
from keypoints.predict.detect.base import (
    LANDMARKS,
    Detections,
    FaceDetector,
    as_detections,
    no_detections,
    search_copy,
)


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
        Faces scored below it are low: ``detect`` leaves them out unless asked to keep them;
        default: the detector's own ``MIN_SCORE``. Haar gives no score, so it has no effect there.
    **settings
        Passed to the detector's class.

    Returns
    -------
    FaceDetector

    Raises
    ------
    keypoints.errors.DetectorError
        An unknown name, or a setting out of range.
    """
    detectors = _detectors()
    if name not in detectors:
        raise DetectorError(f"unknown detector {name!r}; use one of {', '.join(detectors)}")
    if min_score is not None:
        settings["min_score"] = min_score
    return detectors[name](**settings)


def _detectors():
    from keypoints.predict.detect.haar import HaarDetector
    from keypoints.predict.detect.yunet import YuNetDetector

    return {"yunet": YuNetDetector, "haar": HaarDetector}


from keypoints.predict.detect.haar import HaarDetector, drop_overlaps  # noqa: E402
from keypoints.predict.detect.yunet import YuNetDetector  # noqa: E402

__all__ = [
    "LANDMARKS",
    "Detections",
    "FaceDetector",
    "HaarDetector",
    "YuNetDetector",
    "as_detections",
    "detector_names",
    "drop_overlaps",
    "make_detector",
    "no_detections",
    "search_copy",
]
