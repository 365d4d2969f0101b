"""What the predictor writes: annotated photos, face crops, ``keypoints.csv`` and ``results.json`` (the page: ``page``).

Faces are numbered from 0 in each photo in reading order (rows from the top, each
from the left; :func:`keypoints.predict.outputs.face_figures.reading_order`): the ``face``
column of ``keypoints.csv``, the ``face`` field of ``results.json``, the number
drawn on the annotated photo and the one on the page are one numbering.
"""

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from keypoints import atomic
from keypoints.atomic import ESCAPE
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.predict.outputs.draw import draw_faces, draw_photo_faces
from keypoints.predict.outputs.face_figures import draw_numbers, face_figures, numbered

FIGURE_COLUMNS = ("score", "error_px", "error_eye_share", "yaw", "pitch", "roll")
"""The per-face figures (:mod:`keypoints.predict.outputs.face_figures`): the detector's score (0 to 1; empty for Haar),
the estimated mean keypoint error in photo pixels and as a share of the eye distance, the head pose in degrees."""

CSV_COLUMNS = ("file", "face", "box_x", "box_y", "box_w", "box_h", *FIGURE_COLUMNS, *KEYPOINT_COLUMNS)
"""One row per face: the photo, the face's number in it (from 0, reading order),
the detector's box, the figures of ``FIGURE_COLUMNS``, and the 30 Kaggle columns, all in photo pixels."""

VIDEO_COLUMNS = ("frame", "time_s", "track")
"""Added after ``face`` when a video is among the results: its frame (from 0), the frame's time in
seconds, and the face's track number (kept while it stays in view); empty on photos' rows."""

JSON_FORMAT = "keypoints-results"
JSON_VERSION = 1

FACE_SIDE = 256
"""Side of each face's zoomed crop on the page, in pixels: a 40-px face is shown 6 times larger
(see docs/decisions/0033-the-results-pages-face-crops.md)."""

FACE_MARGIN = 1.5
"""Side of the crop around a face / side of the detector's box: the whole head and some background
(see docs/decisions/0033-the-results-pages-face-crops.md)."""

DIR_FACES = "faces"
"""Subfolder of the output folder for the zoomed face crops."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet run a cell as a formula: such a text cell of ``keypoints.csv``
gets a leading ``'`` (OWASP's advice against CSV injection)."""


def result_names(photos):
    """File name of each photo's annotated copy: its stem + ``.jpg``, numbered when stems repeat.

    Parameters
    ----------
    photos : list of Path

    Returns
    -------
    dict of Path to str
    """
    names, used = {}, set()
    for path in photos:
        stem, number = path.stem or "photo", 1
        name = f"{stem}.jpg"
        while name.lower() in used:  # case-insensitive file systems
            number += 1
            name = f"{stem}-{number}.jpg"
        used.add(name.lower())
        names[path] = name
    return names


def face_crop(image, box, keypoints, side=FACE_SIDE, margin=FACE_MARGIN):
    """A face zoomed to ``side`` pixels, with its box and keypoints drawn for that size.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W, 3)
        The clean photo (not drawn on; it is not changed).
    box : sequence of int
        ``x, y, w, h`` in photo pixels.
    keypoints : ndarray, shape (15, 2)
        Photo pixels.
    side : int
    margin : float
        See ``FACE_MARGIN``.

    Returns
    -------
    ndarray of uint8, shape (side, side, 3)
        Parts beyond the photo's edge are grey.
    """
    x, y, w, h = (float(v) for v in box)
    span = max(w, h) * margin
    x0, y0 = x + w / 2 - span / 2, y + h / 2 - span / 2
    scale = side / span
    # pixel centres map as in cv2.resize: u = (x - x0 + 0.5) * scale - 0.5
    shift = np.array([(0.5 - x0) * scale - 0.5, (0.5 - y0) * scale - 0.5])
    matrix = np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]])
    crop = cv2.warpAffine(
        image, matrix, (side, side), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR, borderValue=(96,) * 3
    )
    points = np.asarray(keypoints, dtype=np.float64) * scale + shift
    corner = np.array([x, y]) * scale + shift
    drawn_box = [round(corner[0]), round(corner[1]), round(w * scale), round(h * scale)]
    return draw_faces(crop, [drawn_box], [points])


def write_photo_images(result, out_dir, name):
    """Write a photo's annotated copy and one zoomed crop per face; sets ``result.output`` and ``result.crops``.

    Parameters
    ----------
    result : PhotoResult
        With ``image`` the clean photo (BGR); it is not drawn on.
    out_dir : Path
    name : str
        File name of the annotated copy (from :func:`result_names`).
    """
    out_dir = Path(out_dir)
    faces = result.faces
    annotated = draw_photo_faces(result.image.copy(), faces)  # doubtful faces dashed and red
    order = numbered(faces)
    draw_numbers(annotated, [face.box for _, face in order], [number for number, _ in order])
    result.output = write_jpeg(out_dir / name, annotated)
    result.crops = []
    for number, face in order:
        crop = face_crop(result.image, face.box, face.keypoints)
        result.crops.append(write_jpeg(out_dir / DIR_FACES / f"{Path(name).stem}-face{number}.jpg", crop))


def results_table(results):
    """The rows of ``keypoints.csv`` as a DataFrame with ``CSV_COLUMNS`` (and ``VIDEO_COLUMNS`` after ``face``
    when a video is among the results)."""
    videos = any(hasattr(r, "frames") for r in results)
    columns = [*CSV_COLUMNS[:2], *VIDEO_COLUMNS, *CSV_COLUMNS[2:]] if videos else list(CSV_COLUMNS)
    rows = []
    for result in results:
        for number, face in _in_order(result):
            if hasattr(face, "frame"):
                number_and_video = (face.face, face.frame, face.time_s, face.track)
            else:
                number_and_video = (number, None, None, None) if videos else (number,)
            figures = face_figures(face, result.size)
            confidence = [figures.get(name, float("nan")) for name in FIGURE_COLUMNS]
            rows.append([str(result.path), *number_and_video, *face.box, *confidence, *face.keypoints.ravel().tolist()])
    table = pd.DataFrame(rows, columns=columns)
    whole = ("face", "frame", "track", "box_x", "box_y", "box_w", "box_h") if videos else CSV_COLUMNS[1:6]
    table = table.astype({c: "Int64" if videos else "int64" for c in whole})
    if videos:
        # milliseconds: the two decimals of the other columns would round 1/30 s to 0.03
        table["time_s"] = [("" if pd.isna(t) else f"{t:.3f}") for t in table["time_s"]]
    return table


def inert_cell(text):
    """A text cell a spreadsheet shows as text: one that starts with ``FORMULA_STARTS`` gets a leading ``'``."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def write_csv(path, results):
    """Write ``keypoints.csv``; keypoints with two decimals (1/100 px), file names inert. Returns the path."""
    table = results_table(results)
    table["file"] = table["file"].map(inert_cell)  # a photo named "=cmd.jpg" is not a formula
    text = table.to_csv(index=False, float_format="%.2f")
    return _write_atomic(path, text.encode("utf-8", errors=ESCAPE))


def model_summary(model, detector=None):
    """What the page and the JSON say about the model and the detector used.

    Parameters
    ----------
    model : LoadedModel or None
    detector : object, optional
        A face detector; its ``name`` (else its class name) is reported.

    Returns
    -------
    dict
        ``model`` (file name), ``network``, ``valid_rmse_px``, ``synthetic_data``, ``data``, ``sources`` (the
        name of every source it was trained on), ``convention`` (of the keypoints it predicts) and ``detector``;
        None where unknown.
    """
    card = getattr(model, "card", None) or {}
    sources = [s.get("name") for s in card.get("sources", ())] or ([card["data"]] if card.get("data") else None)
    return {
        "model": str(model.path) if model is not None else None,
        "network": card.get("network", getattr(getattr(model, "network", None), "name", None)),
        "valid_rmse_px": card.get("best_valid_rmse_px"),
        "synthetic_data": card.get("synthetic_data"),
        "data": card.get("data"),
        "sources": sources,
        "convention": card.get("label_convention"),
        "detector": None if detector is None else getattr(detector, "name", None) or type(detector).__name__,
    }


def model_line(about):
    """One line on the model: its file and network, every source it was trained on, the convention it predicts."""
    line = f"model {Path(about['model']).name if about.get('model') else 'unknown'}"
    line += f" ({about['network']})" if about.get("network") else ""
    if about.get("sources"):
        line += f", trained on {', '.join(map(str, about['sources']))}"
    if about.get("convention"):
        convention = about["convention"].split(";")[0]
        line += f"; keypoints in the {convention} convention" if convention.startswith("human") else f"; {convention}"
    return line


def results_document(results, about=None, created=None):
    """The content of ``results.json`` as plain data.

    Parameters
    ----------
    results : list of PhotoResult
    about : dict, optional
        From :func:`model_summary`.
    created : str, optional
        ISO 8601 time; default now (UTC).

    Returns
    -------
    dict
        ``format``, ``version``, ``created``, ``model`` and ``photos``: per photo ``path``, ``width``,
        ``height``, ``error``, ``annotated`` and ``faces``; per face ``face`` (its number), ``box``
        (``x, y, w, h``), the figures of ``FIGURE_COLUMNS`` it carries and ``keypoints``
        (``{name: {"x": .., "y": .., "error_px": ..}}``, photo pixels, NaN as null; ``error_px`` is the
        keypoint's estimated error, where known).
    """
    photos = []
    for result in results:
        width, height = result.size or (None, None)
        faces = []
        for number, face in _in_order(result):
            video = {k: getattr(face, k) for k in VIDEO_COLUMNS} if hasattr(face, "frame") else {}
            faces.append(
                {
                    "face": getattr(face, "face", number),
                    **video,
                    "box": dict(zip("xywh", (int(v) for v in face.box))),
                    **face_figures(face, result.size),
                    "keypoints": _keypoints_json(face),
                }
            )
        photos.append(
            {
                "path": str(result.path),
                "width": width,
                "height": height,
                "error": result.error,
                "annotated": result.output.name if getattr(result, "output", None) else None,
                "faces": faces,
            }
        )
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "created": created or datetime.now(UTC).isoformat(timespec="seconds"),
        "model": about or {},
        "photos": photos,
    }


def write_json(path, results, about=None):
    """Write ``results.json`` (see :func:`results_document`). Returns the path."""
    text = json.dumps(results_document(results, about), indent=1, allow_nan=False)
    return _write_atomic(path, (text + "\n").encode("utf-8"))


def _keypoints_json(face):
    """``{name: {"x", "y"}}`` in photo pixels, with each keypoint's estimated ``error_px`` when the face has them."""
    errors = getattr(face, "keypoint_errors_px", None)
    errors = [None] * len(KEYPOINTS) if errors is None else [_finite(e) for e in errors]
    return {
        name: {"x": _finite(px), "y": _finite(py), **({} if error is None else {"error_px": error})}
        for name, (px, py), error in zip(KEYPOINTS, face.keypoints, errors)
    }


def _in_order(result):
    """A result's faces with their numbers: a photo's in reading order, a video's rows as they come."""
    if hasattr(result, "frames"):
        return list(enumerate(result.faces))
    return numbered(result.faces)


def _finite(value):
    return round(float(value), 2) if math.isfinite(float(value)) else None


def write_jpeg(path, image):
    """Write a BGR image (H, W, 3) as a JPEG of quality 90, atomically (see :func:`_write_atomic`). Returns the path."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        from keypoints.errors import ImageError

        raise ImageError(f"{path}: could not be encoded as JPEG")
    return _write_atomic(path, encoded.tobytes())


def _write_atomic(path, data):
    """Write bytes under a temporary name, then rename (:func:`keypoints.atomic.write_bytes`)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic.write_bytes(path, data)
    except OSError as error:
        from keypoints.errors import KeypointsError

        raise KeypointsError(
            f"{atomic.show(path)}: could not be written ({error.strerror or error}); is {path.parent} writable "
            "and is there room on its disk?"
        ) from None
