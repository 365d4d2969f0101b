"""keypoints: facial keypoint detection on the Kaggle "Facial Keypoints Detection" format."""

__version__ = "0.1.0"


def __getattr__(name):
    """``keypoints.Predictor``, imported on first use so that ``import keypoints`` stays light (no torch)."""
    if name == "Predictor":
        from keypoints.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'keypoints' has no attribute {name!r}")
