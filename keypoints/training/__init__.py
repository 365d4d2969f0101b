"""The training stage: batches, the masked loss, callbacks, the skorch estimator, and `keypoints train`."""
