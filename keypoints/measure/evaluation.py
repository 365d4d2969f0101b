"""Honest figures for a model: RMSE on a labelled CSV that knows the model's own training file, and NME on photos.

``keypoints evaluate`` and ``keypoints evaluate-photos`` call these; they return
plain dicts, so the command line can print them as a table or as JSON.
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np

from keypoints.data.splits import VALID_FRACTION
from keypoints.errors import DataError


def evaluate_csv(data_path, model, split="all", skip_bad_rows=False, say=print):
    """RMSE of a model on a labelled Kaggle-format CSV, saying when the file is the one it was trained on.

    Parameters
    ----------
    data_path : str or Path
        ``training.csv`` layout.
    model : LoadedModel
    split : {"all", "valid"}
        ``"valid"``: only the validation faces of the run that trained the model, re-made with the card's
        seed and validation fraction (the file must be the one it was trained on).
    skip_bad_rows : bool
    say : callable
        Receives notes and skipped rows (one string each).

    Returns
    -------
    dict
        ``model``, ``network``, ``data``, ``split``, ``n_faces``, ``rmse`` (px), ``per_keypoint`` (px),
        ``trained_on_this_file`` (the file's SHA-256 is the card's ``data_sha256``) and
        ``card_valid_rmse_px``.

    Raises
    ------
    DataError
        No keypoint columns, or ``split="valid"`` on a file the model was not trained on.
    ModelFileError
        The model does not predict all 30 columns.
    """
    from keypoints.data.loader import check_csv_path
    from keypoints.data.prepared import file_sha256
    from keypoints.model.checkpoint import require_columns

    require_columns(model, "evaluate scores")  # before reading the data
    check_csv_path(data_path)  # a named pipe would block the hash below
    card = model.card
    digest = file_sha256(data_path)
    trained_on = digest in {card.get("data_sha256"), *(s.get("sha256") for s in card.get("sources", ()))} - {None}
    if split == "valid":
        faces = _validation_faces(data_path, model, trained_on, skip_bad_rows, say)
    else:
        faces = _labelled_faces(data_path, model, skip_bad_rows, say)
        if trained_on:
            own = card.get("valid_per_source", {}).get(Path(data_path).name, {}).get("rmse_px")
            figure = round(own, 4) if own is not None else card.get("best_valid_rmse_px")
            say(
                f"note: {data_path} is the file {model.path} was trained on (its SHA-256 matches the card), so most "
                "of these faces were seen in training and the RMSE flatters the model; its figure on people it "
                f"never saw is {figure} px: `--split valid` reproduces it"
            )
    return _figures(model, data_path, faces, trained_on)


class _Faces(NamedTuple):
    """The faces to score: pixels, true keypoints in the model's columns, and what they are."""

    images: np.ndarray  # (N, 96, 96)
    truth: np.ndarray  # (N, C) in pixels, NaN where missing
    split: str


def _validation_faces(data_path, model, trained_on, skip_bad_rows, say):
    """The validation people of the run that trained ``model``, re-made from its card's seed and fraction."""
    from keypoints.data.prepared import prepare

    card = model.card
    if not trained_on:
        raise DataError(
            f"{data_path}: --split valid scores the validation people of the run that trained {model.path}, "
            f"but this is not its training file (the SHA-256 differs from its card's: {card.get('data')}, "
            f"{str(card.get('data_sha256'))[:16]}...). Pass that file, or leave out --split."
        )
    if card.get("valid_identities"):
        return _held_out_rows(data_path, model, skip_bad_rows, say)
    fraction = card.get("valid_fraction", VALID_FRACTION)
    prepared = prepare(data_path, fraction, card.get("seed", 0), skip_bad_rows=skip_bad_rows, say=say)
    columns = list(prepared.columns)
    truth = prepared.valid_keypoints[:, [columns.index(c) for c in model.columns]]
    return _Faces(prepared.valid_images, truth, f"validation faces of the training run ({prepared.split})")


def _held_out_rows(data_path, model, skip_bad_rows, say):
    """The rows of a CSV whose people a run on several sources held out (the card's ``valid_identities``)."""
    from keypoints.data.prepared import csv_source
    from keypoints.data.schema import KEYPOINT_COLUMNS

    faces = csv_source(data_path, skip_bad_rows, say)
    held = np.isin(faces["identities"].astype(str), list(model.card["valid_identities"]))
    truth = faces["keypoints"][held][:, [list(KEYPOINT_COLUMNS).index(c) for c in model.columns]]
    people = len(set(faces["identities"][held].tolist()))
    return _Faces(faces["images"][held], truth, f"the {int(held.sum())} faces of the {people} people its run held out")


def _labelled_faces(data_path, model, skip_bad_rows, say):
    """Every face of the file with at least one of the model's keypoints."""
    from keypoints.data.loader import load_kaggle_csv

    data = load_kaggle_csv(data_path, skip_bad_rows=skip_bad_rows)
    for problem in data.skipped:
        say(f"skipped {problem}")
    if not data.columns:
        raise DataError(f"{data_path}: no keypoint columns, so nothing to compare with (a test file?).")
    truth = data.keypoints_in(model.columns)
    labelled = ~np.isnan(truth).all(axis=1)
    if not labelled.any():
        raise DataError(
            f"{data_path}: every keypoint of its {len(data)} faces is missing, so there is nothing to compare "
            "the predictions with; evaluate on a labelled file (training.csv layout, keypoints filled in)."
        )
    return _Faces(data.images[labelled], truth[labelled], "every labelled face")


def _figures(model, data_path, faces, trained_on):
    """Predict ``faces`` and return :func:`evaluate_csv`'s dict."""
    from keypoints.guards import check_finite_predictions
    from keypoints.measure.metrics import rmse_per_keypoint
    from keypoints.model.inference import predict_pixels

    predicted = predict_pixels(model.module, faces.images)
    check_finite_predictions(predicted, model.path)  # a broken model gives no figures
    rmse, per_keypoint = rmse_per_keypoint(predicted, faces.truth, model.columns)
    return {
        "model": str(model.path),
        "network": model.network.name,
        "data": str(data_path),
        "split": faces.split,
        "n_faces": int(len(faces.images)),
        "rmse": float(rmse),
        "per_keypoint": {k: float(v) if np.isfinite(v) else None for k, v in per_keypoint.items()},  # JSON: no NaN
        "trained_on_this_file": bool(trained_on),
        "card_valid_rmse_px": model.card.get("best_valid_rmse_px"),
    }


def held_out_files(folder, card):
    """The photos of ``folder`` whose people the model's training held out (its card's ``valid_identities``).

    Raises
    ------
    DataError
        The card names no held-out people: the model was not trained on labelled photos.
    """
    from keypoints.measure.labelled import read_identities, read_labels

    held = card.get("valid_identities")
    if not held:
        raise DataError(
            "--split valid: the model's card names no held-out people (only `keypoints train --photos` records "
            "them); use --split all, or a model trained with --photos"
        )
    files = [name for name, _ in read_labels(folder)]
    held = set(held)
    return {name for name, person in zip(files, read_identities(folder, files)) if person in held}


def evaluate_photo_folder(folder, model, labels="keypoints.csv", detector=None, files=None, convention="labels"):
    """Faces found and NME on photos with true keypoints (:func:`keypoints.measure.photos.evaluate_photos`).

    Parameters
    ----------
    folder : str or Path
    model : LoadedModel
    labels : str
        The CSV in ``folder``: a ``file`` column and the 30 Kaggle columns in photo pixels.
    detector : object, optional
    files : collection of str, optional
        Only these photos (``--split valid``: the people the model's training held out).
    convention : {"labels", "human"}
        ``labels``: score against the labels as they are drawn; ``human``: a known set's labels
        (:mod:`keypoints.data.conventions`, by the folder's name) moved into the human convention first.

    Returns
    -------
    dict
        ``model``, ``folder``, ``n_photos``, ``n_found``, ``nme`` (mean over the faces found; None when none
        was), ``rmse_crop_px`` (root mean square coordinate error in the 96x96 crop's pixels), ``convention``
        (``human`` when the labels were moved, else ``labels``) and ``photos`` (per photo ``file``, ``found``, ``nme``).
    """
    import math

    from keypoints.data.conventions import OFFSETS
    from keypoints.measure.photos import evaluate_photos

    if convention not in ("labels", "human"):
        raise DataError(f"convention: labels or human, got {convention!r}")
    moved = convention == "human" and Path(folder).name in OFFSETS
    offset = OFFSETS[Path(folder).name] if moved else None
    scores = evaluate_photos(folder, model, labels=labels, detector=detector, files=files, offset=offset)
    found = [s.nme for s in scores if s.found]
    squares = [s.frame_rmse**2 for s in scores if s.found]
    return {
        "model": str(model.path),
        "folder": str(folder),
        "n_photos": len(scores),
        "n_found": len(found),
        "nme": sum(found) / len(found) if found else None,
        "rmse_crop_px": float(np.sqrt(np.mean(squares))) if squares else None,
        "convention": "human" if moved else "labels",
        "photos": [
            {"file": str(s.file), "found": bool(s.found), "nme": s.nme if math.isfinite(s.nme) else None}
            for s in scores
        ],
    }
