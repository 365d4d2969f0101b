"""keypoints: facial keypoint detection on the Kaggle "Facial Keypoints Detection" format."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("keypoints")  # written once, in pyproject.toml
except PackageNotFoundError:  # run from a checkout that was never installed (`make setup` installs it)
    __version__ = "0+unknown"


def __getattr__(name):
    """``keypoints.Predictor``, imported on first use so that ``import keypoints`` stays light (no torch)."""
    if name == "Predictor":
        from keypoints.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'keypoints' has no attribute {name!r}")
