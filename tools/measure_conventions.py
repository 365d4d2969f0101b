"""Label-convention offsets of labelled photo folders, measured with a model trained in the Kaggle convention.

For each folder: the faces are cut as the predictor cuts them (re-framed on their true keypoints), the model
predicts them, and the mean of label minus prediction per keypoint (96x96-crop pixels) is the folder's offset
against the model's convention; a folder in that convention (``frames``) gives the model's own bias, which is
taken off the others. Also prints the eye centre against the middle of its corners, a check that needs no model.

Usage: PYTHONPATH=. python tools/measure_conventions.py [--model M] FOLDER [FOLDER ...]  (the first folder: the
reference in the Kaggle convention)
"""

import argparse

import numpy as np

from keypoints.data import conventions
from keypoints.data.schema import KEYPOINTS
from keypoints.inference import predict_pixels
from keypoints.photo_faces import cut_labelled_faces
from keypoints.predict.pipeline import load_predictor_model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    model = load_predictor_model(args.model)
    conventions.OFFSETS.clear()  # measure the labels as they are
    residuals = {}
    for folder in args.folders:
        faces = cut_labelled_faces(folder, say=lambda *_: None)
        print(faces.summary())
        keep = faces.framings == "keypoints"
        predicted = predict_pixels(model.module, faces.images[keep]).reshape(-1, len(KEYPOINTS), 2)
        truth = faces.keypoints[keep].reshape(-1, len(KEYPOINTS), 2)
        residuals[faces.source] = truth - predicted
        eyes = truth[:, [0, 1]]
        corners = (truth[:, [2, 4]] + truth[:, [3, 5]]) / 2
        apart = np.round((eyes - corners).mean(axis=0), 2).tolist()
        print(f"  eye centre minus the middle of its corners (x, y; left, right): {apart}")
    reference = next(iter(residuals))
    bias = residuals[reference].mean(axis=0)
    for source, residual in residuals.items():
        offset = residual.mean(axis=0) - bias
        spread = residual.std(axis=0) / np.sqrt(len(residual))
        print(f"\n{source}: offset against {reference} (crop px), mean ± standard error:")
        for name, o, s in zip(KEYPOINTS, offset, spread):
            print(f"  {name:26s} x {o[0]:+.2f} ± {s[0]:.2f}   y {o[1]:+.2f} ± {s[1]:.2f}")
        print("  as code:", np.round(offset, 2).tolist())


if __name__ == "__main__":
    main()
