"""Training faces from several sources: Kaggle-format CSVs and labelled photo folders, split by person across all.

Photo folders are cut as the predictor cuts faces (:mod:`keypoints.training.photo_faces`); a CSV's faces are its 96x96
rows. One person is on one side of the split whatever source their faces come from (the frames behind the Kaggle
stand-in and its rows share their people), and every validation face keeps its source, so the figures can be given
per source.
"""

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keypoints.data.conventions import check_movable, to_human_convention
from keypoints.data.prepared import TrainValidSplit, csv_source
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.data.splits import VALID_FRACTION, train_valid_split
from keypoints.errors import DataError
from keypoints.measure.metrics import rmse_per_keypoint

PHOTO_TERMS = {
    "frames": "YouTube Faces frames of a public 68-point keypoint set: non-commercial research",
    "fgnet": "FG-NET ageing database: research use",
    "helen": "HELEN (Flickr photos): free for use in research projects",
    "mtfl": "MTFL (LFW and web photos, CUHK): non-commercial research use",
}
"""The terms a model inherits from each known photo set (a folder not named here: its own source's terms)."""

MOVED = "moved into the human convention (iBUG-68, eye centre: the centre of the eye's outline)"
"""What a model card says of a source whose labels :func:`move_labels` moved."""


def photo_source(faces):
    """:func:`~keypoints.data.prepared.csv_source`'s dict for a :class:`~keypoints.training.photo_faces.PhotoFaces`."""
    digest = hashlib.sha256()
    for name in sorted(set(faces.files.tolist())):
        digest.update(name.encode() + b"\n")
    return {
        "name": faces.source,
        "images": faces.images,
        "keypoints": faces.keypoints.astype(np.float64),
        "identities": faces.identities,
        "summary": faces.summary().replace(" [cached]", ""),
        "terms": PHOTO_TERMS.get(faces.source, "the terms of the photos' source"),
        "sha256": digest.hexdigest(),
        "photos": faces.n_photos,
        "found": faces.n_found,
        "missed": len(faces.missed),
    }


def split_sources(sources, valid_fraction=VALID_FRACTION, seed=0, held_out=None):
    """One split by person over the faces of every source.

    Parameters
    ----------
    sources : list of dict
        From :func:`~keypoints.data.prepared.csv_source` and :func:`photo_source`.
    valid_fraction : float
        Of the people.
    seed : int
    held_out : HeldOut, optional
        The validation people, everyone else training (another model's, so that the two are measured on the same
        people however the sources differ); default: a seeded split of ``valid_fraction`` of the people.

    Returns
    -------
    TrainValidSplit
        With ``train_sources``/``valid_sources`` (the source of each face), ``valid_identities`` and ``sources``
        (per source: name, faces, people, summary, terms).
    """
    if not sources:
        raise DataError("no training faces: give --data CSV files, --photos folders, or both")
    images = np.concatenate([s["images"] for s in sources])
    keypoints = np.concatenate([s["keypoints"] for s in sources])
    people = np.concatenate([s["identities"] for s in sources]).astype(str)
    names = np.concatenate([[s["name"]] * len(s["images"]) for s in sources]).astype(str)
    if held_out is None:
        train, valid = train_valid_split(len(images), groups=people, valid_fraction=valid_fraction, seed=seed)
        chosen = f"seed {seed}"
    else:
        kept = np.isin(people, list(held_out.people))
        if kept.all() or not kept.any():
            raise DataError(
                f"the held-out people are {'all' if kept.any() else 'none'} of the {len(set(people))} people of the "
                "sources: a split needs people on both sides"
            )
        train, valid = np.flatnonzero(~kept), np.flatnonzero(kept)
        chosen = f"the people {held_out.model} held out"
    valid_people = sorted(set(people[valid].tolist()))  # plain str: a model card loads with weights_only
    counts = ", ".join(
        f"{s['name']} {int((names[train] == s['name']).sum())}/{int((names[valid] == s['name']).sum())}"
        for s in sources
    )
    digest = hashlib.sha256("".join(s["sha256"] for s in sources).encode()).hexdigest()
    described = [
        {k: s[k] for k in ("name", "summary", "terms", "sha256", "photos", "found", "missed", "convention") if k in s}
        for s in sources
    ]
    return TrainValidSplit(
        source=sources[0]["name"],
        sha256=digest,
        columns=KEYPOINT_COLUMNS,
        train_images=images[train],
        train_keypoints=keypoints[train],
        valid_images=images[valid],
        valid_keypoints=keypoints[valid],
        split=(
            f"by person across {len(sources)} sources ({len(set(people))} people); {len(train)} train / "
            f"{len(valid)} validation faces (train/validation per source: {counts}), {chosen}"
        ),
        train_sources=names[train],
        valid_sources=names[valid],
        valid_identities=tuple(valid_people),
        sources=tuple(described),
    )


def per_source_scores(predicted, split):
    """RMSE (pixels of the 96x96 crops) and NME (mean error over the eye distance) per source of the validation
    faces; empty for a split without sources.

    Parameters
    ----------
    predicted : ndarray, shape (N_valid, 30)
    split : TrainValidSplit

    Returns
    -------
    dict of str to dict
        Per source: ``faces``, ``rmse_px``, ``nme``.
    """
    if split.valid_sources is None:
        return {}
    scores = {}
    for name in dict.fromkeys(split.valid_sources.tolist()):
        chosen = split.valid_sources == name
        rmse, _ = rmse_per_keypoint(predicted[chosen], split.valid_keypoints[chosen], split.columns)
        truth = split.valid_keypoints[chosen].reshape(-1, len(KEYPOINTS), 2)
        guess = np.asarray(predicted[chosen]).reshape(-1, len(KEYPOINTS), 2)
        eyes = np.linalg.norm(truth[:, 0] - truth[:, 1], axis=1)
        errors = np.nanmean(np.linalg.norm(guess - truth, axis=2), axis=1) / eyes
        scores[name] = {"faces": int(chosen.sum()), "rmse_px": float(rmse), "nme": float(np.nanmean(errors))}
    return scores


def move_labels(source, names):
    """A source's labels moved into the human convention when ``names`` names it; its ``convention`` says which.

    Parameters
    ----------
    source : dict
        From :func:`~keypoints.data.prepared.csv_source` or :func:`photo_source`.
    names : collection of str
        The sets to move (:data:`keypoints.data.conventions.OFFSETS`).

    Returns
    -------
    dict
        ``source`` with ``keypoints`` moved (or as they were) and ``convention``.
    """
    if source["name"] not in names:
        return source | {"convention": "as drawn"}
    points = np.asarray(source["keypoints"], dtype=np.float64).reshape(-1, len(KEYPOINTS), 2)
    moved = to_human_convention(points, source["name"]).reshape(len(points), -1)
    return source | {"keypoints": moved, "convention": MOVED}


def prepare_sources(
    data, photos, valid_fraction=VALID_FRACTION, seed=0, skip_bad_rows=False, say=print, move=(), held_out=None
):
    """The split of a run on CSVs and labelled photo folders (each folder cut once, then read from the cache).

    Parameters
    ----------
    data : sequence of str or Path
        Kaggle-format CSVs (may be empty).
    photos : sequence of str or Path
        Labelled photo folders.
    valid_fraction, seed, skip_bad_rows, say
        As for :func:`keypoints.data.prepared.prepare`.
    move : collection of str
        Sources (a CSV's or a folder's name) whose labels are moved into the human convention
        (:func:`move_labels`); the others are taken as drawn.
    held_out : HeldOut, optional
        The validation people, in place of the seeded split (:func:`split_sources`).

    Returns
    -------
    TrainValidSplit
    """
    from keypoints.training.photo_faces import cut_labelled_faces

    check_movable(move)
    given = [Path(path).name for path in [*data, *photos]]
    absent = [name for name in move if name not in given]
    if absent:
        raise DataError(f"--move-labels names {', '.join(absent)}, which is not among the sources ({', '.join(given)})")
    sources = [csv_source(path, skip_bad_rows, say) for path in data]
    for folder in photos:
        faces = cut_labelled_faces(folder, say=say)
        if not len(faces.images):
            raise DataError(f"{folder}: the detector found none of its {faces.n_photos} labelled faces")
        sources.append(photo_source(faces))
    sources = [move_labels(source, move) for source in sources]
    for source in sources:
        say(f"source {source['summary']}; labels {source['convention']}")
    return split_sources(sources, valid_fraction, seed, held_out=held_out)


class HeldOut(NamedTuple):
    """The people a model held out, and the model file's name (how the split names them)."""

    model: str
    people: frozenset


def held_out_people(model_path):
    """The people a model file held out: its card's ``valid_identities``.

    Returns
    -------
    HeldOut

    Raises
    ------
    DataError
        The card names none (a model not trained on labelled photos).
    """
    from keypoints.model.checkpoint import load_model

    people = load_model(model_path).card.get("valid_identities")
    if not people:
        raise DataError(
            f"--hold-out {model_path}: its card names no held-out people (only `keypoints train --photos` records "
            "them); give a model trained with --photos, or leave --hold-out out to split by --seed"
        )
    return HeldOut(Path(model_path).name, frozenset(people))
