"""Where a face's crop lies: upright squares from a box (:mod:`~keypoints.predict.crops.crop`), rotated crops from
the detector's landmarks and the exact map back (:mod:`~keypoints.predict.crops.align`), and the crop of each pass,
which training's photo faces share (:mod:`~keypoints.predict.crops.framing`)."""
