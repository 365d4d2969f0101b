"""The detection, alignment and confidence figures of the decision records (docs/decisions/README.md).

PYTHONPATH=. python tools/measure_detection.py rotation PHOTOS_DIR
PYTHONPATH=. python tools/measure_detection.py photos PHOTOS_DIR [--detector haar] [--no-align]
PYTHONPATH=. python tools/measure_detection.py validation TRAINING_CSV   # calibration; NME as they are and degraded
PYTHONPATH=. python tools/measure_detection.py photos PHOTOS_DIR --degrade
PYTHONPATH=. python tools/measure_detection.py smallest PHOTOS_DIR       # smallest face found, time per photo
PYTHONPATH=. python tools/measure_detection.py passes PHOTOS_DIR [--limit N] [--turned]  # what each pass buys
"""

import argparse

import numpy as np

from keypoints.measure.labelled import labelled_photos
from keypoints.measure.metrics import nme
from keypoints.measure.photos import degraded_items, rotation_table, score_faces
from keypoints.predict.detect import make_detector
from keypoints.predict.estimates.confidence import spearman
from keypoints.predict.photo.pipeline import load_predictor_model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "what", choices=["rotation", "photos", "validation", "smallest", "template", "scores", "passes"]
    )
    parser.add_argument("folder", help="labelled photos with keypoints.csv (validation: the training CSV)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--detector", default="yunet")
    parser.add_argument("--no-align", action="store_true")
    parser.add_argument(
        "--degrade", action="store_true", help="photos: degrade every photo first (accuracy.degrade_photo)"
    )
    parser.add_argument("--limit", type=int, default=None, help="passes: the first N labelled photos (every k-th)")
    parser.add_argument(
        "--turned", action="store_true", help="passes: the photos turned by 0-60 degrees (accuracy.ANGLES) too"
    )
    args = parser.parse_args()
    model = load_predictor_model(args.model)
    if args.what == "passes":
        passes(args.folder, model, args.limit, args.turned)
        return
    if args.what == "rotation":
        print(rotation_table(args.folder, model).to_markdown(index=False, floatfmt=".4f"))
        return
    if args.what == "validation":
        validation(args.folder, model)
        return
    if args.what == "scores":
        score_spread(args.folder)
        return
    if args.what == "template":
        template(args.folder)
        return
    if args.what == "smallest":
        smallest(args.folder)
        return
    items = labelled_photos(args.folder)
    items = degraded_items(items) if args.degrade else items
    scores = score_faces(items, model, detector=make_detector(args.detector), align=not args.no_align)
    found = [s for s in scores if s.found]
    print(f"found {len(found)} of {len(scores)}; NME {np.mean([s.nme for s in found]):.4f}")
    if len(found) > 2 and np.isfinite([s.estimated_px for s in found]).all():
        rho = spearman([s.estimated_px for s in found], [s.error_px for s in found])
        print(f"Spearman(estimated error, true error) over the faces found: {rho:.3f}")


def passes(folder, model, limit=None, turned=False):
    """Faces found and NME with and without each detector pass and each network pass
    (docs/decisions/0019-passes-that-pay.md): the turned copies always, never, or only when the upright copy finds
    nothing or a tilted face; 0-2 re-framing steps; with and without the mirror image."""
    import time

    import cv2

    from keypoints.measure.labelled import read_labels
    from keypoints.measure.photos import ANGLES, rotate_onto_canvas
    from keypoints.predict.inputs.read import read_photo
    from keypoints.predict.options import PredictOptions
    from keypoints.predict.photo.pipeline import detect_and_predict, predict_faces

    labels = read_labels(folder)
    if limit and limit < len(labels):
        labels = labels[:: len(labels) // limit][:limit]  # spread over the folder (its people come in runs)
    photos = [(name, read_photo(f"{folder}/{name}"), truth) for name, truth in labels]
    detectors = {
        "three copies always": make_detector("yunet", tilt_limit=None),
        "upright copy only": make_detector("yunet", turns=(0.0,)),
        "turned when tilted (20 deg)": make_detector("yunet"),
        "turned when tilted or doubtful": make_detector("yunet"),
    }
    networks = [(steps, flip) for steps in (2, 1, 0) for flip in (True, False)]
    print(f"| {folder} | degrees | detection | steps | mirror | found | NME | copies/photo | detect ms |")
    print("|---|---:|---|---:|---|---|---:|---:|---:|")
    for degrees in ANGLES if turned else (0,):
        items = [
            (name, *rotate_onto_canvas(image, truth, degrees)) if degrees else (name, image, truth)
            for name, image, truth in photos
        ]
        for label, detector in detectors.items():
            detector.searches, seconds, found = 0, 0.0, []
            for _name, image, truth in items:
                start = time.perf_counter()
                if label.endswith("doubtful"):  # the predictor's own policy: the network's error estimate decides too
                    faces = detect_and_predict(image, model, detector, PredictOptions())
                    seconds += time.perf_counter() - start
                    faces = [f for f in faces if _holds(f.box, truth)]
                    found.append((None, faces[0], truth) if faces else None)
                    continue
                faces = detector.detect(image)
                seconds += time.perf_counter() - start
                holds = [k for k, box in enumerate(faces.boxes) if _holds(box, truth)]
                found.append((cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), faces.take(holds[:1]), truth) if holds else None)
            copies, ms = detector.searches / len(items), seconds / len(items) * 1000
            # the network's passes are measured on the full search's faces only
            for steps, flip in networks if label == "three copies always" else networks[:1]:
                nmes = [
                    nme((f if g is None else predict_faces(g, f, model, steps, flip_average=flip)[0]).keypoints, t)
                    for g, f, t in (x for x in found if x is not None)
                ]
                print(
                    f"| | {degrees} | {label} | {steps} | {'yes' if flip else 'no'} | {len(nmes)}/{len(items)} "
                    f"| {np.mean(nmes):.4f} | {copies:.2f} | {ms:.0f} |",
                    flush=True,
                )


def _holds(box, truth):
    """Whether an ``x, y, w, h`` box holds the centre of the true keypoints (the labelled face)."""
    x, y, w, h = box
    centre = truth.mean(axis=0)
    return x - 0.5 <= centre[0] <= x + w - 0.5 and y - 0.5 <= centre[1] <= y + h - 0.5


def validation(csv, model):
    """Calibrate the keypoint confidence on the validation faces (split by person), turned up to 30 degrees.

    Each face is made into a photo twice: as it is, and degraded (:func:`keypoints.measure.photos.degrade_photo`),
    so the line spans the errors of well and poorly taken photos; both are fitted together.
    """
    from keypoints.measure.photos import validation_items
    from keypoints.predict.estimates.confidence import fit_calibration
    from keypoints.training.trainer import prepare

    data = prepare(csv, say=lambda *a: None)
    complete = ~np.isnan(data.valid_keypoints).any(axis=1)
    items = validation_items(data.valid_images[complete], data.valid_keypoints[complete])
    gaps, errors, detector = [], [], make_detector("yunet")
    for label, photos in (("as they are", items), ("degraded", degraded_items(items))):
        scores = [s for s in score_faces(photos, model, detector) if s.found]
        gaps.append(np.array([s.disagreement for s in scores]))
        errors.append(np.array([s.frame_error for s in scores]))
        nme = np.mean([s.nme for s in scores])
        print(
            f"{label}: {len(scores)} of {len(photos)} validation faces found; NME {nme:.4f}; "
            f"Spearman(disagreement, true error) {spearman(gaps[-1], errors[-1]):.3f}"
        )
    slope, intercept, rho = fit_calibration(np.concatenate(gaps), np.concatenate(errors))
    print(f"both: true error (96-frame px) ~ {slope:.3f} * disagreement + {intercept:.3f}; Spearman {rho:.3f}")


def score_spread(folder):
    """YuNet's scores down to 0.3 on the labelled photos turned by 0, 30 and 60 degrees and on the samples."""
    from pathlib import Path

    from keypoints.measure.labelled import labelled_photos
    from keypoints.measure.photos import rotate_onto_canvas
    from keypoints.predict.inputs.read import read_photo

    detector = make_detector("yunet", min_score=0.3, floor_score=0.3)
    real, false = [], []
    photos = labelled_photos(folder)
    for degrees in (0, 30, 60):
        for _, image, truth in photos:
            image, truth = rotate_onto_canvas(image, truth, degrees)
            found, (cx, cy) = detector.detect(image), truth.mean(axis=0)
            for (x, y, w, h), score in zip(found.boxes, found.scores):
                (real if x <= cx <= x + w and y <= cy <= y + h else false).append(score)
    for path in sorted(Path("data/samples").glob("*.*g")):
        found = detector.detect(read_photo(path))
        print(f"{path.name}: scores {found.scores.round(2).tolist()}, boxes {found.boxes.round().tolist()}")
    real, false = np.array(real), np.array(false)
    print(f"real faces: {len(real)}, lowest scores {np.sort(real)[:5].round(3).tolist()}")
    print(f"false faces: {len(false)}, highest scores {np.sort(false)[::-1][:5].round(3).tolist()}")
    for threshold in (0.5, 0.6, 0.7, 0.8):
        print(f"threshold {threshold}: {(real >= threshold).sum()} real, {(false >= threshold).sum()} false kept")


def template(csv):
    """Where YuNet puts its five landmarks on the training faces, in the 96x96 frame (LANDMARK_TEMPLATE)."""
    import cv2

    from keypoints.training.trainer import prepare

    data = prepare(csv, say=lambda *a: None)
    detector = make_detector("yunet", min_score=0.4, turns=(0.0,))  # upright faces: the upright search
    marks = []
    for image in data.train_images[:, 0]:
        framed = cv2.copyMakeBorder(image, 48, 48, 48, 48, cv2.BORDER_REPLICATE)
        found = detector.detect(framed)
        if len(found):
            nearest = np.argmin(np.hypot(*(found.boxes[:, :2] + found.boxes[:, 2:] / 2 - 96).T))
            marks.append(found.landmarks[nearest] - 48)
    marks = np.array(marks)
    print(f"found in {len(marks)} of {len(data.train_images)} training faces")
    print("mean (5, 2):", marks.mean(axis=0).round(2).tolist())
    print("sd (5, 2):", marks.std(axis=0).round(2).tolist())


def smallest(folder):
    """Faces found, per detector, in the labelled photos shrunk so the face is a given width in a 640x480 photo."""
    import time

    import cv2

    from keypoints.measure.labelled import labelled_photos

    photos = labelled_photos(folder)
    detectors = {"haar": make_detector("haar"), "yunet": make_detector("yunet")}
    print("| face width (px, eye distance x 2.5) | haar | yunet |")
    print("|---|---|---|")
    for width in (12, 16, 20, 24, 30, 40):
        found = dict.fromkeys(detectors, 0)
        for _, image, truth in photos:
            eyes = np.linalg.norm(truth[0] - truth[1])
            k = width / (2.5 * eyes)
            small = cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            canvas = np.full((480, 640, 3), 128, np.uint8)
            h, w = small.shape[:2]
            canvas[100 : 100 + h, 100 : 100 + w] = small
            centre = truth.mean(axis=0) * k + 100
            for name, detector in detectors.items():
                boxes = detector.detect(canvas, keep_low_score=True).boxes  # every face reported, as measured
                if any(x <= centre[0] <= x + bw and y <= centre[1] <= y + bh for x, y, bw, bh in boxes):
                    found[name] += 1
        print(f"| {width} | {found['haar']} / {len(photos)} | {found['yunet']} / {len(photos)} |")
    for size in ((640, 480), (4000, 3000)):
        image = cv2.resize(photos[0][1], size)
        for name, detector in detectors.items():
            detector.detect(image)
            start = time.perf_counter()
            for _ in range(3):
                detector.detect(image)
            print(f"detection {size[0]}x{size[1]} {name}: {(time.perf_counter() - start) / 3 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
