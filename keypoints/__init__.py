"""keypoints: facial keypoint detection on the Kaggle "Facial Keypoints Detection" format."""

__version__ = "0.1.0"
