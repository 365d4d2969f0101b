"""Measuring: the figures of a model and of the predictor, against labels.

:mod:`~keypoints.measure.metrics` (RMSE per keypoint, NME, speed), :mod:`~keypoints.measure.labelled` (folders of
labelled photos and their people), :mod:`~keypoints.measure.photos` (the predictor on labelled photos: faces found,
NME, turned and degraded copies), :mod:`~keypoints.measure.clips` and :mod:`~keypoints.measure.video` (clips with
known keypoints in every frame; accuracy, jitter and lag), and :mod:`~keypoints.measure.evaluation` (what ``keypoints
evaluate`` and ``evaluate-photos`` print). Training, the reports, the bench, the tools and the commands import these;
the predictor imports nothing from here.
"""
