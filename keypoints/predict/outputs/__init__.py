"""What the predictor writes: keypoints drawn (:mod:`~keypoints.predict.outputs.draw`), the annotated photos, crops,
CSV and JSON (:mod:`~keypoints.predict.outputs.files`), the results page (:mod:`~keypoints.predict.outputs.page`) and
the figures each face gives, with their units (:mod:`~keypoints.predict.outputs.face_figures`)."""
