"""Fit a model's learned error estimate on the people its training held out, and measure it by person
(docs/decisions/0076-error-estimate-a-learned-head.md).

    .venv/bin/python tools/fit_error_head.py ../shared/data/labelled/{fgnet,helen,frames}            # measure
    .venv/bin/python tools/fit_error_head.py ../shared/data/labelled/{fgnet,helen,frames} --write    # and store

Every held-out photo is searched and predicted as ``keypoints predict`` does; the labelled face's last crop is
cut again for the head's inputs, and its true errors are taken against the labels moved into the Kaggle
convention. The training people's crops (``keypoints train --photos``'s own, from its cache) are jittered as
training jitters them, ``COPIES`` times each, for the second line
(:func:`keypoints.predict.estimates.error_head.blend_heads`).
The Spearman correlations are of faces the head was not fitted on: 5 folds by person, each fitted on the other
four (the training people's line never sees a held-out face). ``--write`` fits the head on every face, stores it in
the model file's card and exports the ONNX file beside it again (``keypoints export --force``).
"""

import argparse
from pathlib import Path

import numpy as np

from keypoints import paths
from keypoints.data.conventions import OFFSETS, to_human_convention
from keypoints.data.schema import KEYPOINTS
from keypoints.measure.evaluation import held_out_files
from keypoints.measure.labelled import labelled_photos, read_identities
from keypoints.measure.photos import found_labelled_faces
from keypoints.model.inference import keypoint_feature_count
from keypoints.predict.crops.align import cut_aligned
from keypoints.predict.detect import make_detector
from keypoints.predict.estimates.confidence import MIRROR_WEIGHT, estimate_error, predict_with_disagreement, spearman
from keypoints.predict.estimates.error_head import CARD_KEY, ErrorHead, blend_heads, fit_error_head
from keypoints.predict.photo.pipeline import load_predictor_model

FOLDS = 5

COPIES = 4
"""Jittered copies of each training crop for the training people's line."""

TRAINING_SHARE = 0.5
"""The training people's line's weight in the blend (docs/decisions/0082-error-estimate-the-training-people.md)."""

_EYES = [KEYPOINTS.index("left_eye_center"), KEYPOINTS.index("right_eye_center")]


def keypoint_order(columns):
    """For each of ``KEYPOINTS``, the index of its (x, y) pair in a model's ``columns``."""
    from keypoints.data.schema import KEYPOINT_COLUMNS, column_indices

    return np.asarray(column_indices(columns, KEYPOINT_COLUMNS)[0::2]) // 2


def held_out_faces(folder, model, detector):
    """The inputs and true errors of the held-out faces found in a labelled folder.

    Returns
    -------
    dict of str to ndarray
        ``person`` (F,), ``features`` (F, C), ``gaps`` (F, 15) 96-frame px, ``sides`` (F,), ``keypoints``
        (F, 15, 2) photo px, ``errors`` (F, 15) over the true eye distance.
    """
    order = keypoint_order(model.columns)
    items = labelled_photos(folder, files=held_out_files(folder, model.card))
    people = dict(zip([name for name, _, _ in items], read_identities(folder, [name for name, _, _ in items])))
    rows = {key: [] for key in ("person", "features", "gaps", "sides", "keypoints", "errors")}
    for name, gray, face, truth in found_labelled_faces(items, model, detector, offset=OFFSETS.get(folder.name)):
        if face is None:
            continue
        _, gaps, features = predict_with_disagreement(
            model.module,
            cut_aligned(gray, [face.crop]),
            model.columns,
            model.card["flip_mirror_sum_px"],
            per_keypoint=True,
            features=True,
        )
        eyes = np.linalg.norm(truth[_EYES[0]] - truth[_EYES[1]])
        rows["person"].append(people[name])
        rows["features"].append(features[0])
        rows["gaps"].append(gaps[0, order])
        rows["sides"].append(face.crop.side)
        rows["keypoints"].append(face.keypoints)
        rows["errors"].append(np.linalg.norm(face.keypoints - truth, axis=1) / eyes)
    return {key: np.array(value) for key, value in rows.items()}


def training_people_faces(folder, model, copies=COPIES, seed=0):
    """The inputs and errors of the training people's crops of a labelled folder, jittered as training does.

    Returns
    -------
    dict of str to ndarray
        ``features`` (F, C), ``gaps`` (F, 15) 96-frame px, ``sides`` (F,) all 96 (the crops' own frame), ``errors``
        (F, 15) over the true eye distance; F is ``copies`` times the crops.
    """
    import torch

    from keypoints.data.schema import KEYPOINT_COLUMNS
    from keypoints.data.transforms import scale_images, scale_keypoints, unscale_images, unscale_keypoints
    from keypoints.training.batches import FaceBatches, FaceTensors
    from keypoints.training.photo_faces import cut_labelled_faces
    from keypoints.training.presets import PHOTO_APPEARANCE, PHOTO_JITTER

    order = keypoint_order(model.columns)
    crops = cut_labelled_faces(folder, say=lambda *_: None)
    kept = ~np.isin(crops.files, sorted(held_out_files(folder, model.card)))
    labels = crops.keypoints[kept].reshape(-1, len(KEYPOINTS), 2)
    if folder.name in OFFSETS:  # the errors are counted against the convention the model predicts
        labels = to_human_convention(labels, folder.name)
    faces = FaceTensors(
        torch.from_numpy(scale_images(crops.images[kept])),
        torch.from_numpy(scale_keypoints(labels.reshape(len(labels), -1).astype(np.float32))),
        KEYPOINT_COLUMNS,
    )
    # the training iterator itself, unshuffled and unflipped: every pass draws new jitter and looks
    batches = FaceBatches(
        faces,
        batch_size=512,
        seed=seed,
        mirror_sum=model.card["flip_mirror_sum_px"],
        jitter=PHOTO_JITTER,
        appearance=PHOTO_APPEARANCE,
    )
    rows = {key: [] for key in ("features", "gaps", "errors")}
    for _ in range(copies):
        for moved, truth in batches:
            cut = unscale_images(moved.numpy())
            averaged, gaps, features = predict_with_disagreement(
                model.module, cut, model.columns, model.card["flip_mirror_sum_px"], per_keypoint=True, features=True
            )
            predicted = averaged.reshape(len(cut), -1, 2)[:, order]
            truth = unscale_keypoints(truth.numpy()).reshape(len(cut), -1, 2)
            eyes = np.linalg.norm(truth[:, _EYES[0]] - truth[:, _EYES[1]], axis=1)
            rows["features"].append(features)
            rows["gaps"].append(gaps[:, order])
            rows["errors"].append(np.linalg.norm(predicted - truth, axis=2) / eyes[:, None])
    faces = {key: np.concatenate(value) for key, value in rows.items()}
    faces["sides"] = np.full(len(faces["errors"]), 96.0)
    return faces


def training_people_head(faces, spreads=0):
    """The line on every feature, fitted on the training people's jittered crops (``spreads``: the features' heatmap
    spreads, as for :func:`keypoints.predict.estimates.error_head.head_inputs`)."""
    inputs = [faces[key] for key in ("features", "gaps", "sides", "errors")]
    return fit_error_head(*inputs, components=None, spreads=spreads)


def blended_head(held_out, training_head):
    """The head of held-out faces (a dict as from :func:`held_out_faces`) blended with the training people's."""
    inputs = [held_out[key] for key in ("features", "gaps", "sides", "errors")]
    return blend_heads(training_head, fit_error_head(*inputs, spreads=training_head.spreads), TRAINING_SHARE, *inputs)


def person_folds(people, folds=FOLDS):
    """A fold number (0 to ``folds`` - 1) for every face, the same for all faces of one person."""
    names = sorted(set(people))
    order = np.random.default_rng(0).permutation(len(names))
    fold_of = {names[i]: rank % folds for rank, i in enumerate(order)}
    return np.array([fold_of[p] for p in people])


def cross_validated(faces, training_head=None, spreads=0):
    """Each face's relative estimate (face (F,), keypoints (F, 15)) from a head fitted on the other folds (and
    blended with ``training_head`` when given; ``spreads`` as for :func:`training_people_head`)."""
    fold = person_folds(faces["person"])
    face_estimate, keypoint_estimate = np.zeros(len(fold)), np.zeros((len(fold), len(KEYPOINTS)))
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        fitted = {key: faces[key][train] for key in ("features", "gaps", "sides", "errors")}
        if training_head is None:
            head = fit_error_head(*fitted.values(), spreads=spreads)
        else:
            head = blended_head(fitted, training_head)
        face_estimate[test], keypoint_estimate[test] = head.relative(
            faces["features"][test], faces["gaps"][test], faces["sides"][test]
        )
    return face_estimate, keypoint_estimate


def within_faces(estimate, errors):
    """Mean over faces of the Spearman correlation of a face's 15 keypoint estimates with their true errors."""
    return float(np.nanmean([spearman(e, t) for e, t in zip(estimate, errors)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--model", type=Path, default=paths.DEFAULT_MODEL, help="a .pt model (default: shipped)")
    parser.add_argument("--write", action="store_true", help="store the head in the model file, export it again")
    parser.add_argument(
        "--without-spreads", action="store_true", help="a heatmap network's head without its spreads (to measure them)"
    )
    args = parser.parse_args()
    if args.write and args.without_spreads:
        parser.error("--without-spreads measures only: the head it fits does not read what the network gives")
    model, detector = load_predictor_model(args.model), make_detector()
    by_source = {folder.name: held_out_faces(folder, model, detector) for folder in args.folders}
    sources = list(by_source)
    faces = {key: np.concatenate([by_source[s][key] for s in sources]) for key in by_source[sources[0]]}
    source = np.concatenate([[s] * len(by_source[s]["person"]) for s in sources])
    training = [training_people_faces(folder, model) for folder in args.folders]
    training_faces = {key: np.concatenate([t[key] for t in training]) for key in training[0]}
    spreads = keypoint_feature_count(model.module)
    if args.without_spreads and spreads:
        for part in [*by_source.values(), faces, training_faces]:
            part["features"] = part["features"][:, :-spreads]
        spreads = 0
    training_head = training_people_head(training_faces, spreads)
    alone_face, _ = cross_validated(faces, spreads=spreads)
    head_face, head_keypoints = cross_validated(faces, training_head)
    nme = faces["errors"].mean(axis=1)
    eyes = np.linalg.norm(faces["keypoints"][:, _EYES[0]] - faces["keypoints"][:, _EYES[1]], axis=1)
    mirror_face = estimate_error(faces["gaps"].mean(axis=1), faces["sides"]) / eyes
    # what the predictor gives (keypoints.predict.estimates.confidence.face_errors): the larger of the head and the
    # weighted line
    face_estimate = np.maximum(head_face, MIRROR_WEIGHT * mirror_face)
    keypoint_estimate = head_keypoints * (face_estimate / head_face)[:, None]
    print(
        f"{len(nme)} held-out faces of {len(set(faces['person']))} people, and {len(training_faces['errors'])} "
        f"jittered crops of the training people; Spearman with the true error:"
    )
    print(
        f"{'source':10s} {'faces':>5s}  {'face: mirror':>12s} {'held-out line':>13s} {'head':>6s} {'larger':>7s}"
        f"   {'keypoint: mirror':>16s} {'shipped':>7s}"
    )
    for s in sources:
        m = source == s
        print(
            f"{s:10s} {m.sum():5d}  {spearman(mirror_face[m], nme[m]):12.3f} {spearman(alone_face[m], nme[m]):13.3f}"
            f" {spearman(head_face[m], nme[m]):6.3f} {spearman(face_estimate[m], nme[m]):7.3f}"
            f"   {spearman(faces['gaps'][m].ravel(), faces['errors'][m].ravel()):16.3f}"
            f" {spearman(keypoint_estimate[m].ravel(), faces['errors'][m].ravel()):7.3f}"
        )
    print(
        f"within a face (mean over faces): mirror {within_faces(faces['gaps'], faces['errors']):.3f}, "
        f"head {within_faces(keypoint_estimate, faces['errors']):.3f}"
    )
    if spreads:
        spread = faces["features"][:, -spreads:][:, keypoint_order(model.columns)]
        print("the heatmaps' spreads alone, Spearman with the true error:")
        for s in sources:
            m = source == s
            print(
                f"{s:10s} face {spearman(spread[m].mean(axis=1), nme[m]):.3f}"
                f"   keypoint {spearman(spread[m].ravel(), faces['errors'][m].ravel()):.3f}"
            )
        print(f"within a face (mean over faces): spread {within_faces(spread, faces['errors']):.3f}")
    print(
        f"mean estimate over mean true NME: mirror {mirror_face.mean() / nme.mean():.3f}, "
        f"head {head_face.mean() / nme.mean():.3f}, larger {face_estimate.mean() / nme.mean():.3f}"
    )
    if args.write:
        write_head(args.model, blended_head(faces, training_head))


def write_head(path, head):
    """Store ``head`` in the model file's card and export the file again beside it."""
    from keypoints.model.checkpoint import load_model, save_model
    from keypoints.model.export import export_model

    model = load_model(path)
    card = dict(model.card, **{CARD_KEY: head.to_card()})
    assert ErrorHead.from_card(card).weights.shape == head.weights.shape
    save_model(path, model.network, model.module, card, model.columns)
    exported = export_model(path, force=True)
    print(f"wrote the head ({head.faces} faces) into {path} and {exported.path}")


if __name__ == "__main__":
    main()
