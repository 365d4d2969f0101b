"""What the predictor estimates beside the keypoints: their error (:mod:`~keypoints.predict.estimates.confidence`,
with the learned :mod:`~keypoints.predict.estimates.error_head`) and the head's pose
(:mod:`~keypoints.predict.estimates.pose`)."""
