"""The predictor's inputs: which files a mix of paths names (:mod:`~keypoints.predict.inputs.discover`) and their
pixels, read robustly (:mod:`~keypoints.predict.inputs.read`)."""
