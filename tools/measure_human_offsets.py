"""Each labelled folder's offset from the human 68-point convention, measured with dlib's 68-point predictor.

dlib's ``shape_predictor_68_face_landmarks`` was trained on 300-W's human iBUG-68 labels, so the mean of label
minus dlib, per keypoint, is where a folder's labels sit against that convention (plus dlib's own mean bias, which
a folder drawn by the same rules shows alone). Residuals are in the face's own frame: x along the labels' eye line
towards the subject's left, y down, over the labels' eye distance. The 15 keypoints are taken from dlib's 68 as
the frames' labels were taken from theirs: eye centre = the mean of the eye's six outline points, the rest the
matching point. Also printed: the eye centre against the middle of its corners in dlib's own points, the check of
where the outline's centre sits.

Runs in its own environment, never the package's (dlib is an instrument here, not a dependency)::

    python3.11 -m venv .venv-tools/dlib
    .venv-tools/dlib/bin/pip install dlib-bin face-recognition-models numpy opencv-python-headless pandas
    .venv-tools/dlib/bin/python tools/measure_human_offsets.py FOLDER [FOLDER ...] [--out offsets.json]

Each folder holds photos and ``keypoints.csv`` (``file`` and the 30 Kaggle columns in photo pixels).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEYPOINTS = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "left_eyebrow_inner_end",
    "left_eyebrow_outer_end",
    "right_eyebrow_inner_end",
    "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_center_top_lip",
    "mouth_center_bottom_lip",
)
"""The package's ``keypoints.data.schema.KEYPOINTS``, repeated: this environment has no keypoints package."""

IBUG = {
    "left_eye_inner_corner": 42,
    "left_eye_outer_corner": 45,
    "right_eye_inner_corner": 39,
    "right_eye_outer_corner": 36,
    "left_eyebrow_inner_end": 22,
    "left_eyebrow_outer_end": 26,
    "right_eyebrow_inner_end": 21,
    "right_eyebrow_outer_end": 17,
    "nose_tip": 30,
    "mouth_left_corner": 54,
    "mouth_right_corner": 48,
    "mouth_center_top_lip": 51,
    "mouth_center_bottom_lip": 57,
}
"""0-based iBUG-68 index of each keypoint that is one point; the subject's left eye is points 42-47."""


def fifteen(shape):
    """(15, 2) keypoints from (68, 2) iBUG points."""
    points = np.zeros((len(KEYPOINTS), 2))
    for k, name in enumerate(KEYPOINTS):
        if name == "left_eye_center":
            points[k] = shape[42:48].mean(axis=0)
        elif name == "right_eye_center":
            points[k] = shape[36:42].mean(axis=0)
        else:
            points[k] = shape[IBUG[name]]
    return points


def face_frame(points, truth):
    """``points`` (N, 15, 2) in the frame of ``truth``'s eye line, over its eye distance."""
    axis = truth[:, 0] - truth[:, 1]  # right eye centre -> left eye centre
    distance = np.linalg.norm(axis, axis=1)
    ux = axis / distance[:, None]
    uy = np.stack([-ux[:, 1], ux[:, 0]], axis=1)  # x turned a quarter clockwise: down in the image
    return (
        np.stack([np.einsum("nkd,nd->nk", points, ux), np.einsum("nkd,nd->nk", points, uy)], axis=2)
        / distance[:, None, None]
    )


def measure(folder, detector, predictor, limit=None):
    """Residuals (labels minus dlib) in the face frame, and dlib's eye centre minus its corners' middle.

    Returns
    -------
    dict
        ``files`` (N,), ``residuals`` (N, 15, 2), ``eye_check`` (N, 2, 2), ``eye_distance_px`` (N,), ``photos``.
    """
    import cv2

    labels = pd.read_csv(Path(folder) / "keypoints.csv")
    columns = [f"{k}_{a}" for k in KEYPOINTS for a in "xy"]
    if limit:
        labels = labels.iloc[:limit]
    files, residuals, eye_checks, distances = [], [], [], []
    for row in labels.itertuples(index=False):
        truth = np.array([getattr(row, c) for c in columns], dtype=float).reshape(len(KEYPOINTS), 2)
        if not np.isfinite(truth).all():
            continue
        image = cv2.imread(str(Path(folder) / row.file))
        if image is None:
            continue
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        centre = truth.mean(axis=0)
        boxes = [
            b for b in detector(rgb, 1) if b.left() <= centre[0] <= b.right() and b.top() <= centre[1] <= b.bottom()
        ]
        if not boxes:
            continue
        box = max(boxes, key=lambda b: b.area())
        shape = predictor(rgb, box)
        shape = np.array([(p.x, p.y) for p in shape.parts()], dtype=float)
        points = fifteen(shape)
        files.append(row.file)
        framed = face_frame(np.stack([truth - points, points]), np.stack([truth, truth]))
        residuals.append(framed[0])
        corners = (points[[2, 4]] + points[[3, 5]]) / 2
        eye_checks.append(face_frame((points[[0, 1]] - corners)[None], truth[None])[0])
        distances.append(np.linalg.norm(truth[0] - truth[1]))
    return {
        "files": files,
        "residuals": np.array(residuals).reshape(-1, len(KEYPOINTS), 2),
        "eye_check": np.array(eye_checks).reshape(-1, 2, 2),
        "eye_distance_px": np.array(distances),
        "photos": len(labels),
    }


def summary(measured):
    """Per keypoint: mean and standard error of the residuals (x, y), over the eye distance."""
    r = measured["residuals"]
    n = len(r)
    mean, se = r.mean(axis=0), r.std(axis=0, ddof=1) / np.sqrt(n)
    return {
        "faces": n,
        "photos": measured["photos"],
        "mean": np.round(mean, 4).tolist(),
        "standard_error": np.round(se, 4).tolist(),
        "mean_offset": round(float(np.linalg.norm(mean, axis=1).mean()), 4),
        "median_nme_against_dlib": round(float(np.median(np.linalg.norm(r, axis=2).mean(axis=1))), 4),
        "eye_centre_minus_corners_middle": np.round(measured["eye_check"].mean(axis=0), 4).tolist(),
        "eye_distance_px": round(float(measured["eye_distance_px"].mean()), 2),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--out", help="write the summaries (and a .npz of the residuals beside it)")
    parser.add_argument("--limit", type=int, help="the first N photos of each folder")
    args = parser.parse_args(argv)
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    results, arrays = {}, {}
    for folder in args.folders:
        name = Path(folder).name
        measured = measure(folder, detector, predictor, args.limit)
        results[name] = summary(measured)
        arrays[f"{name}_residuals"] = measured["residuals"]
        arrays[f"{name}_files"] = np.array(measured["files"])
        s = results[name]
        print(f"\n{name}: {s['faces']} of {s['photos']} faces found by dlib; label minus dlib over the eye distance")
        print(f"  mean offset {s['mean_offset']:.4f}; median NME against dlib {s['median_nme_against_dlib']:.4f}")
        for k, key in enumerate(KEYPOINTS):
            (mx, my), (sx, sy) = s["mean"][k], s["standard_error"][k]
            print(f"  {key:26s} x {mx:+.4f} ± {sx:.4f}   y {my:+.4f} ± {sy:.4f}")
        print(f"  dlib's eye centre minus its corners' middle (left, right): {s['eye_centre_minus_corners_middle']}")
        sys.stdout.flush()
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
        np.savez_compressed(Path(args.out).with_suffix(".npz"), **arrays)


if __name__ == "__main__":
    main()
