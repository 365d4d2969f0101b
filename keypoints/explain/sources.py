"""What ``keypoints explain`` takes as IMAGE: a row of a Kaggle-format CSV, or a photo.

``FILE.csv:ROW`` names faces of a CSV by row number: row 1 is the first face
(line 2 of the file, after the header), as the row numbers of a spreadsheet
that hides its header, and as ``ImageId`` in the Kaggle ``test.csv``. ``ROW``
may be a list and ranges: ``training.csv:1,5,10-12``. ``.csv.gz`` and
``.zip`` files work too. Anything else is a photo, whose faces are found and
cut out as the predictor does it.
"""

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keypoints.atomic import show
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.errors import DataError, KeypointsError

CSV_SUFFIXES = (".csv", ".csv.gz", ".gz", ".zip")
_ROWS = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


class FaceToExplain(NamedTuple):
    """One 96x96 face to explain.

    Attributes
    ----------
    label : str
        Names the face in file names and titles: ``training_row12``, ``photo_face1``.
    image : ndarray of uint8, shape (96, 96)
    labels : ndarray of float32, shape (30,), or None
        True keypoints in pixels (NaN missing), in ``KEYPOINT_COLUMNS`` order, when known.
    source : str
        Where it came from, for people: ``training.csv row 12 (line 13)``.
    """

    label: str
    image: np.ndarray
    labels: np.ndarray
    source: str


MAX_ROWS = 10_000
"""Most rows one ``FILE.csv:ROWS`` argument may name (a range is counted before it is expanded)."""


def _clip(text, limit=40):
    return text if len(text) <= limit else text[:limit] + "..."


def parse_csv_spec(spec):
    """Split ``FILE.csv:ROWS`` into the path and the row numbers, or None if ``spec`` is not one.

    Returns
    -------
    tuple of (Path, list of int) or None

    Raises
    ------
    DataError
        A CSV file with a malformed row list.
    """
    head, sep, rows = str(spec).rpartition(":")
    if not sep or not head.lower().endswith(CSV_SUFFIXES):
        return None
    if not _ROWS.match(rows):
        raise DataError(
            f"{show(head)}:{_clip(rows)}: rows must be numbers from 1, as in {show(head)}:12 or "
            f"{show(head)}:1,5,10-12; got {_clip(rows)!r}"
        )
    numbers = []
    for part in rows.split(","):
        first, _, last = part.partition("-")
        first, last = int(first), int(last or first)
        if first < 1 or last < first:
            raise DataError(f"{spec}: {part!r} is not a row range; rows count from 1 and a range goes up, as in 10-12")
        if len(numbers) + last - first + 1 > MAX_ROWS:  # counted before the list is built
            raise DataError(
                f"{show(head)}: {_clip(rows)} asks for more than {MAX_ROWS} rows; each row makes its own "
                f"figures, so name at most {MAX_ROWS} (the Kaggle training.csv has 7049)"
            )
        numbers.extend(range(first, last + 1))
    return Path(head), numbers


def faces_from_csv(path, rows):
    """The faces of given rows of a Kaggle-format CSV.

    Parameters
    ----------
    path : Path
    rows : list of int
        Row numbers from 1 (line ``row + 1`` of the file).

    Returns
    -------
    list of FaceToExplain

    Raises
    ------
    DataError
        The file is missing or unreadable, a row is beyond its end, or a
        requested row is bad (the message says why); other bad rows of the file
        do not matter.
    """
    data = load_kaggle_csv(path, skip_bad_rows=True)
    by_line = {int(line): index for index, line in enumerate(data.lines)}
    problems = {problem.line: problem for problem in data.skipped}
    n_rows = len(data) + len(data.skipped)
    has_labels = bool(data.columns)
    faces = []
    for row in rows:
        line = row + 1
        if line in problems:
            raise DataError(f"{path}: row {row} (line {line}) is bad, so it cannot be explained: {problems[line]}")
        if line not in by_line:
            raise DataError(f"{path}: there is no row {row}; the file has {n_rows} faces (rows 1 to {n_rows}).")
        index = by_line[line]
        labels = data.keypoints_in(KEYPOINT_COLUMNS)[index] if has_labels else None
        stem = Path(path).name.split(".")[0]
        faces.append(
            FaceToExplain(
                f"{stem}_row{row}",
                data.images[index, 0],
                labels,
                f"{Path(path).name} row {row} (line {line})",
            )
        )
    return faces


def faces_from_spec(spec, model=None):
    """The faces that one IMAGE argument names: CSV rows, or the faces found in a photo.

    Parameters
    ----------
    spec : str
    model : LoadedModel, optional
        Needed for photos: the predictor frames each face with the model's own keypoints.

    Raises
    ------
    DataError
        As :func:`faces_from_csv`.
    KeypointsError
        A photo that is missing or unreadable, or holds no face.
    """
    parsed = parse_csv_spec(spec)
    if parsed is not None:
        return faces_from_csv(*parsed)
    if str(spec).lower().endswith(CSV_SUFFIXES):
        raise DataError(
            f"{spec}: say which rows of the CSV to explain, as in {spec}:1 or {spec}:1,5,10-12 "
            "(row 1 is the first face)"
        )
    return faces_from_photo(Path(spec), model)


def faces_from_photo(path, model):
    """The 96x96 faces of a photo, found and cut as the predictor does (:mod:`keypoints.predict`).

    Parameters
    ----------
    path : Path
    model : LoadedModel
        The predictor re-frames each face on the model's first prediction.

    Returns
    -------
    list of FaceToExplain
        Largest face first; labelled ``<stem>_face1``, ``<stem>_face2``...

    Raises
    ------
    ImageError
        The photo is missing or unreadable.
    KeypointsError
        No face was found.
    """
    import cv2

    from keypoints.predict.crops.align import AlignedCrop, cut_aligned
    from keypoints.predict.crops.crop import cut_faces
    from keypoints.predict.detect import make_detector
    from keypoints.predict.inputs.read import read_photo
    from keypoints.predict.photo.pipeline import predict_image

    photo = read_photo(path)
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    faces = predict_image(photo, model, make_detector(), draw=False)  # found and framed as the predictor does
    if not faces:
        raise KeypointsError(f"{path}: no face found; use a photo with a face, or a CSV row")
    crops = [face.crop for face in faces]
    images = cut_aligned(gray, crops) if isinstance(crops[0], AlignedCrop) else cut_faces(gray, crops)
    # numbered as the predictor's keypoints.csv and results page number them
    return [
        FaceToExplain(
            f"{path.stem}_face{k}",
            images[k, 0],
            None,
            f"{path.name} face {k} ({face.box[2]}x{face.box[3]} px box at x {face.box[0]}, y {face.box[1]})",
        )
        for k, face in enumerate(faces)
    ]
