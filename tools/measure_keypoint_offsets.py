"""A model's mean signed error per keypoint on labelled photos, against the labels as drawn and moved.

For each folder, the faces the predictor finds (its own search, as ``evaluate-photos`` runs it), on the people the
model's training held out (``--split valid``) or on all: prediction minus label per keypoint in the face's frame (x
along the labels' eye line towards the subject's left, y down, over the eye distance). Printed per folder: NME
against the labels as drawn, with only the eye centres moved into the human convention (what the eye centre's
definition alone costs), and with every measured offset moved (``evaluate-photos --convention human``); the mean
offset (the mean length of the per-keypoint mean error), and the per-keypoint table with standard errors.

Usage: PYTHONPATH=. python tools/measure_keypoint_offsets.py [--model M] [--split valid|all] FOLDER [FOLDER ...]
"""

import argparse
from pathlib import Path

import numpy as np

from keypoints.data.conventions import OFFSETS, in_face_frame
from keypoints.data.schema import KEYPOINTS
from keypoints.measure.evaluation import held_out_files
from keypoints.measure.labelled import labelled_photos
from keypoints.measure.photos import found_labelled_faces
from keypoints.predict.photo.pipeline import load_predictor_model

EYE_CENTRES = [KEYPOINTS.index("left_eye_center"), KEYPOINTS.index("right_eye_center")]


def residuals(folder, model, split):
    """Prediction minus label in the face frame, (F, 15, 2), for the faces found."""
    files = held_out_files(folder, model.card) if split == "valid" else None
    items = labelled_photos(folder, files=files)
    predicted, truth = [], []
    for _, _, face, labels in found_labelled_faces(items, model):
        if face is not None:
            predicted.append(face.keypoints)
            truth.append(labels)
    predicted, truth = np.array(predicted), np.array(truth)
    return in_face_frame(predicted - truth, truth)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", default="valid", choices=("valid", "all"))
    args = parser.parse_args()
    model = load_predictor_model(args.model)
    print(f"model {model.path}; faces of {'the held-out people' if args.split == 'valid' else 'every person'}")
    for folder in args.folders:
        r = residuals(folder, model, args.split)
        offset = OFFSETS.get(folder.name, np.zeros((len(KEYPOINTS), 2)))
        eyes_only = np.zeros_like(offset)
        eyes_only[EYE_CENTRES] = offset[EYE_CENTRES]
        # a label moved by minus the offset: the residual against it grows by the offset
        scores = {
            "as drawn": np.linalg.norm(r, axis=2).mean(),
            "eye centres moved": np.linalg.norm(r + eyes_only, axis=2).mean(),
            "all moved": np.linalg.norm(r + offset, axis=2).mean(),
        }
        mean, error = r.mean(axis=0), r.std(axis=0, ddof=1) / np.sqrt(len(r))
        moved_mean = (r + offset).mean(axis=0)
        print(f"\n{folder.name}: {len(r)} faces; NME " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
        print(
            f"  mean offset (mean length of each keypoint's mean error): as drawn "
            f"{np.linalg.norm(mean, axis=1).mean():.4f}, all moved {np.linalg.norm(moved_mean, axis=1).mean():.4f}"
        )
        for name, m, e in zip(KEYPOINTS, mean, error):
            print(f"  {name:26s} x {m[0]:+.4f} ± {e[0]:.4f}   y {m[1]:+.4f} ± {e[1]:.4f}")


if __name__ == "__main__":
    main()
