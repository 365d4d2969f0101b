"""Two photo models on the same held-out people: NME as drawn per source, a paired interval, and cost per face.

Every held-out photo of each folder is searched and predicted as ``keypoints predict`` does, once per model, and
scored against its labels as drawn (``keypoints evaluate-photos FOLDER --split valid --model M`` gives the same NME
for each model alone). The difference is paired by person: each person's mean NME under the second model minus
under the first, with Student's 95 % interval over the people (``keypoints.report.stats.paired_difference``).
The models run as exported (``MODEL.onnx`` beside each ``MODEL.pt``). The cost is the exported network alone in
OpenCV's DNN module, as the predictor runs it: a face and its mirror image in one batch, one thread, best of several
repeats; and the ONNX file's size.

    PYTHONPATH=. .venv/bin/python tools/compare_photo_networks.py FIRST.pt SECOND.pt FOLDER [FOLDER ...] [--average]

Both models must have held out the same people (the same ``--photos`` sources and ``--seed``). ``--average`` adds a
third column: the two exported networks run on every crop and their keypoints averaged (the second model's features,
card and error head), what an ensemble of the two would read, at the cost of both.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from keypoints.measure.evaluation import held_out_files
from keypoints.measure.labelled import labelled_photos, read_identities
from keypoints.measure.photos import score_faces
from keypoints.predict.detect import make_detector
from keypoints.predict.photo.pipeline import load_predictor_model
from keypoints.report.stats import paired_difference

REPEATS = 200
"""Timed passes per model; the best is kept, as the bench keeps its best."""


def scores_by_file(folder, model, detector):
    """File name -> NME as drawn, for the held-out faces the model's search finds."""
    items = labelled_photos(folder, files=held_out_files(folder, model.card))
    return {s.file: s.nme for s in score_faces(items, model, detector) if s.found}


def person_means(folder, first, second):
    """The people found under both models and each one's mean NME under each: (people, (P,), (P,))."""
    files = sorted(set(first) & set(second))
    people = dict(zip(files, read_identities(folder, files)))
    names = sorted(set(people.values()))
    a = np.array([np.mean([first[f] for f in files if people[f] == p]) for p in names])
    b = np.array([np.mean([second[f] for f in files if people[f] == p]) for p in names])
    return names, a, b


class Averaged:
    """Two exported networks as one: the mean of their keypoints, the second one's features."""

    def __init__(self, first, second):
        self.first, self.second = first, second
        self.keypoint_features = second.keypoint_features

    def predict_pixels(self, images, batch_size=256):
        return (self.first.predict_pixels(images, batch_size) + self.second.predict_pixels(images, batch_size)) / 2

    def predict_pixels_and_features(self, images, batch_size=256):
        pixels, features = self.second.predict_pixels_and_features(images, batch_size)
        return (self.first.predict_pixels(images, batch_size) + pixels) / 2, features


def averaged_model(first, second):
    """The model of :class:`Averaged` networks, with the second model's columns and card."""
    return second._replace(module=Averaged(first.module, second.module))


def milliseconds_per_face(model, repeats=REPEATS):
    """The exported network's time for one face and its mirror image, per face, in OpenCV's DNN module."""
    import cv2

    cv2.setNumThreads(1)
    faces = np.random.default_rng(0).integers(0, 256, size=(2, 1, 96, 96), dtype=np.uint8)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        model.module.predict_pixels_and_features(faces)
        best = min(best, time.perf_counter() - started)
    return best * 1000 / 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="a model file (.pt); its .onnx export beside it is run and timed")
    parser.add_argument("second", type=Path)
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--average", action="store_true", help="also the two networks' keypoints averaged")
    args = parser.parse_args()
    models = [load_predictor_model(path.with_suffix(".onnx")) for path in (args.first, args.second)]
    held = [model.card.get("valid_identities") for model in models]
    if held[0] != held[1]:
        raise SystemExit("the two models held out different people: train both on the same sources and --seed")
    detector = make_detector()
    print(f"first {args.first}, second {args.second}; NME as drawn on the held-out people (second minus first)")
    print(f"{'source':8s} {'faces':>5s} {'people':>6s} {'first':>7s} {'second':>7s} {'difference (95 %)':>26s}")
    for folder in args.folders:
        first, second = (scores_by_file(folder, model, detector) for model in models)
        names, a, b = person_means(folder, first, second)
        both = sorted(set(first) & set(second))
        difference = paired_difference(a, b)
        print(
            f"{folder.name:8s} {len(both):5d} {len(names):6d} {np.mean([first[f] for f in both]):7.4f} "
            f"{np.mean([second[f] for f in both]):7.4f} {difference.mean:+9.4f} "
            f"[{difference.low:+.4f}, {difference.high:+.4f}]"
        )
        if args.average:
            mean = scores_by_file(folder, averaged_model(*models), detector)
            _, a, c = person_means(folder, second, mean)
            together = paired_difference(a, c)
            print(
                f"{'':8s} averaged: {np.mean([mean[f] for f in sorted(set(mean) & set(second))]):.4f}, "
                f"minus the second {together.mean:+.4f} [{together.low:+.4f}, {together.high:+.4f}]"
            )
    for path, model in zip((args.first, args.second), models):
        size = path.with_suffix(".onnx").stat().st_size
        print(f"{path.name}: {milliseconds_per_face(model):.3f} ms per face, ONNX file {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
