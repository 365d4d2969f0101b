"""The second instrument for label conventions, and the offsets the product moves each known set by.

Instrument 1 is dlib (``tools/measure_human_offsets.py``, its own environment): label minus dlib's 68-point
predictor per keypoint, over the eye distance. Instrument 2 is a model of ours trained in one set's convention (the
shipped model before the move: the frames' convention, the other sets moved into it): each set's faces are cut as
the predictor cuts them (re-framed on the true keypoints), and the mean of label minus prediction, less the same on
the reference set (the model's own bias), is the set's offset from the reference. The two share no bias, so where
they agree on each set's offset from the reference, the offsets are the labels'.

The table it prints: the reference set (its labels off the human convention on every keypoint) moved on all 15 by
dlib's reading; every other set only on the keypoints, a point and its mirror image together, that sit further than
``--threshold`` from dlib (beyond dlib's own bias on human labels), the rest as drawn.

Usage: PYTHONPATH=. python tools/measure_conventions.py --dlib reports/conventions/dlib.json --model M \\
    FOLDER [FOLDER ...]   (the first folder: the reference)
"""

import argparse
import json

import numpy as np

from keypoints.data.conventions import in_face_frame
from keypoints.data.schema import KEYPOINTS
from keypoints.model.inference import predict_pixels
from keypoints.predict.photo.pipeline import load_predictor_model
from keypoints.training.photo_faces import cut_labelled_faces

PAIRS = [(0, 1), (2, 4), (3, 5), (6, 8), (7, 9), (10,), (11, 12), (13,), (14,)]
"""Keypoints placed by one rule: an eye centre and its mirror image, ..., the nose tip alone."""


def model_residuals(folder, model):
    """Label minus prediction on each face re-framed on its true keypoints, in the face's frame (N, 15, 2)."""
    faces = cut_labelled_faces(folder, say=lambda *_: None)
    keep = faces.framings == "keypoints"
    predicted = predict_pixels(model.module, faces.images[keep]).reshape(-1, len(KEYPOINTS), 2)
    truth = faces.keypoints[keep].reshape(-1, len(KEYPOINTS), 2).astype(np.float64)
    return faces.source, in_face_frame(truth - predicted, truth)


def product_table(dlib, reference, threshold):
    """The offsets to move each set by (over the eye distance): see the module's docstring."""
    table = {}
    for source, figures in dlib.items():
        offset = np.array(figures["mean"])
        if source != reference:
            size = np.linalg.norm(offset, axis=1)
            for group in PAIRS:
                if size[list(group)].mean() < threshold:
                    offset[list(group)] = 0.0
        table[source] = offset
    return table


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--model", default=None, help="a model trained in the first folder's convention")
    parser.add_argument("--dlib", required=True, help="tools/measure_human_offsets.py --out's JSON")
    parser.add_argument("--threshold", type=float, default=0.02, help="over the eye distance (default 0.02)")
    args = parser.parse_args()
    dlib = json.loads(open(args.dlib).read())
    model = load_predictor_model(args.model)
    residuals = dict(model_residuals(folder, model) for folder in args.folders)
    reference = next(iter(residuals))
    bias = residuals[reference].mean(axis=0)
    print(f"model {model.path}; its mean residual on {reference} (its bias): {np.round(bias, 4).tolist()}")
    for source, residual in residuals.items():
        if source == reference or source not in dlib:
            continue
        by_model = residual.mean(axis=0) - bias
        error = residual.std(axis=0, ddof=1) / np.sqrt(len(residual))
        by_dlib = np.array(dlib[source]["mean"]) - np.array(dlib[reference]["mean"])
        gap = np.abs(by_dlib - by_model)
        r = np.corrcoef(by_dlib.ravel(), by_model.ravel())[0, 1]
        print(f"\n{source} minus {reference}, over the eye distance: model (± standard error) | dlib")
        for name, m, e, d in zip(KEYPOINTS, by_model, error, by_dlib):
            print(f"  {name:26s} x {m[0]:+.4f} ± {e[0]:.4f} | {d[0]:+.4f}   y {m[1]:+.4f} ± {e[1]:.4f} | {d[1]:+.4f}")
        print(f"  agreement: correlation {r:.3f} over the 30 values, mean |dlib - model| {gap.mean():.4f}")
    print(f"\nthe offsets to move by ({reference}: all 15; the others: groups beyond {args.threshold}):")
    for source, offset in product_table(dlib, reference, args.threshold).items():
        moved = [KEYPOINTS[k] for k in range(len(KEYPOINTS)) if offset[k].any()]
        print(f"  {source}: {len(moved)} keypoints moved; as code: {np.round(offset, 4).tolist()}")


if __name__ == "__main__":
    main()
