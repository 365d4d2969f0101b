"""The photo path: one photo read, searched, cut, predicted and mapped back
(:mod:`~keypoints.predict.photo.pipeline`), with ``--refine`` (:mod:`~keypoints.predict.photo.refine`), the choice
between two searches (:mod:`~keypoints.predict.photo.rereading`) and photos on several cores
(:mod:`~keypoints.predict.photo.workers`)."""
