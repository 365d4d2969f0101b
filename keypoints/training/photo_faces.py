"""Training faces cut from labelled photos exactly as the predictor cuts them.

A labelled folder holds photos, ``keypoints.csv`` (``file`` and the 30 Kaggle columns in photo pixels) and
``identities.csv`` (``file,identity``). Each photo is searched by the predictor's detector; the detection that holds
the centre of the true keypoints (those present: a row may leave some empty, as the Kaggle file's do) is framed by
:func:`keypoints.predict.crops.framing.training_crops` (the predictor's own framing), and the true keypoints go through
the same transform; missing ones stay NaN, which the masked losses skip. Photos where the detector finds no
such face are counted per folder. The crops are cached, keyed by the files and the crop settings.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from keypoints.data import cache
from keypoints.data.schema import IMAGE_SIZE, KEYPOINTS
from keypoints.errors import DataError, ImageError
from keypoints.measure.labelled import LABELS, labelled_face, read_identities, read_labels
from keypoints.predict.crops.framing import training_crops
from keypoints.predict.detect import make_detector
from keypoints.predict.inputs.read import read_photo
from keypoints.predict.options import ALIGN

CUT_VERSION = 2
"""Bumped when the cut changes: a cache entry of another version is cut again."""

FRAMINGS = ("detector", "keypoints")
"""The crops of each face: the predictor's first pass (from the detector's landmarks), and the crop re-framed on
the true keypoints (what its later passes cut when the predictions are right)."""


@dataclass
class PhotoFaces:
    """The training faces of one labelled folder.

    Attributes
    ----------
    source : str
        The folder's name: how the report and the card name this source.
    folder : Path
    images : ndarray of uint8, shape (N, 1, 96, 96)
    keypoints : ndarray of float32, shape (N, 30)
        In each crop's 96x96 frame, ``KEYPOINT_COLUMNS`` order, NaN where the label is missing, as the labels are
        drawn (training moves a known set into the human convention only when asked:
        :mod:`keypoints.data.conventions`).
    identities : ndarray of str, shape (N,)
    files : ndarray of str, shape (N,)
    framings : ndarray of str, shape (N,)
        ``FRAMINGS`` entry of each crop.
    n_photos : int
    missed : list of str
        Photos whose labelled face the detector did not find.
    unreadable : list of str
        ``file: reason`` of photos that could not be read.
    from_cache : bool
    """

    source: str
    folder: Path
    images: np.ndarray
    keypoints: np.ndarray
    identities: np.ndarray
    files: np.ndarray
    framings: np.ndarray
    n_photos: int
    missed: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)
    from_cache: bool = False

    @property
    def n_found(self):
        return len(set(self.files.tolist()))

    def summary(self):
        """One line: photos, faces found, crops, identities, and what was missed."""
        line = (
            f"{self.source}: {self.n_found} of {self.n_photos} labelled faces found, {len(self.images)} crops of "
            f"{len(set(self.identities.tolist()))} people"
        )
        if self.missed:
            line += f"; not found by the detector: {len(self.missed)} ({', '.join(self.missed[:3])}"
            line += ", ...)" if len(self.missed) > 3 else ")"
        if self.unreadable:
            line += f"; unreadable: {len(self.unreadable)} ({self.unreadable[0]})"
        return line + (" [cached]" if self.from_cache else "")


def cut_labelled_faces(folder, detector=None, align=ALIGN, use_cache=True, say=print):
    """The training crops of a labelled folder, cut as the predictor cuts its faces.

    Parameters
    ----------
    folder : str or Path
    detector : FaceDetector, optional
        Default: the predictor's (YuNet with its defaults).
    align : bool
    use_cache : bool
    say : callable

    Returns
    -------
    PhotoFaces

    Raises
    ------
    DataError
        No ``keypoints.csv``, or one without the Kaggle columns.
    """
    folder = Path(folder)
    labels_path = folder / LABELS
    if not labels_path.is_file():
        raise DataError(
            f"{folder}: no {LABELS}; a labelled photo folder holds the photos and {LABELS} "
            "(file and the 30 Kaggle columns in photo pixels)"
        )
    labels = read_labels(folder, LABELS)
    detector = detector or make_detector()
    variant = _variant(folder, labels, detector, align)
    stored = cache.load(labels_path, variant) if use_cache else None
    if stored is None:
        arrays, meta = _cut(folder, labels, detector, align, say)
        if use_cache:
            cache.store(labels_path, variant, (arrays, meta))
        from_cache = False
    else:
        arrays, meta = stored
        from_cache = True
    files = arrays["files"].astype(str)
    return PhotoFaces(
        source=folder.name,
        folder=folder,
        images=arrays["images"],
        keypoints=arrays["keypoints"].reshape(-1, 2 * len(KEYPOINTS)).astype(np.float32),
        identities=read_identities(folder, files),
        files=files,
        framings=np.array(FRAMINGS, dtype=object)[arrays["framings"]],
        n_photos=len(labels),
        missed=meta["missed"],
        unreadable=meta["unreadable"],
        from_cache=from_cache,
    )


def _cut(folder, labels, detector, align, say):
    images, points, files, framings, missed, unreadable = [], [], [], [], [], []
    for index, (name, truth) in enumerate(labels):
        if not np.isfinite(truth).any():
            unreadable.append(f"{name}: every keypoint is missing in {LABELS} (row {index + 2})")
            continue
        try:
            image = read_photo(folder / name)
        except ImageError as error:
            unreadable.append(f"{name}: {error}")
            continue
        found = detector.detect(image)
        k = labelled_face(found, truth)
        if k is None and not found.all_turns:
            found = detector.detect(image, every_turn=True)
            k = labelled_face(found, truth)
        if k is None:
            missed.append(name)
            continue
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        cut, moved = training_crops(gray, found.take([k]), truth, align=align)
        images.append(cut)
        points.append(moved)
        files += [name] * len(cut)
        framings += list(range(len(cut)))
        if (index + 1) % 500 == 0:
            say(f"  {folder.name}: {index + 1} of {len(labels)} photos cut")
    if images:
        images, points = np.concatenate(images), np.concatenate(points)
    else:
        images = np.zeros((0, 1, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        points = np.zeros((0, len(KEYPOINTS), 2))
    arrays = {
        "images": images,
        "keypoints": points.astype(np.float32),
        "files": np.array(files, dtype=str),
        "framings": np.array(framings, dtype=np.int8),
    }
    return arrays, {"missed": missed, "unreadable": unreadable}


def _variant(folder, labels, detector, align):
    """What the crops depend on besides ``keypoints.csv``: the photos (names, sizes, times) and the crop settings."""
    digest = hashlib.sha256()
    for name, _ in labels:
        try:
            stat = (folder / name).stat()
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{name}\0missing\n".encode())
    settings = {
        "version": CUT_VERSION,
        "detector": detector.name,
        "min_score": getattr(detector, "min_score", None),
        "side": getattr(detector, "side", None),
        "turns": list(getattr(detector, "turns", ())),
        "align": bool(align),
    }
    return json.dumps(settings, sort_keys=True) + digest.hexdigest()
