"""The video path: every frame of a video (:mod:`~keypoints.predict.video.pipeline`), faces followed between key
frames (:mod:`~keypoints.predict.video.tracking`), smoothed (:mod:`~keypoints.predict.video.smoothing`) and written
as H.264 (:mod:`~keypoints.predict.video.writer`)."""
