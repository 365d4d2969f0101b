"""What the predictor writes: annotated photos, face crops, ``keypoints.csv``, ``results.json`` and ``index.html``.

Faces are numbered from 0 in each photo in reading order (rows from the top, each
from the left; :func:`keypoints.predict.face_figures.reading_order`): the ``face``
column of ``keypoints.csv``, the ``face`` field of ``results.json``, the number
drawn on the annotated photo and the one on the page are one numbering.
"""

import html
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pandas as pd

from keypoints.atomic import ESCAPE
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.predict.draw import PART_COLOURS, draw_faces, draw_photo_faces, part_of
from keypoints.predict.face_figures import draw_numbers, face_figures, figures_html, numbered

FIGURE_COLUMNS = ("score", "error_px", "error_eye_share", "yaw", "pitch", "roll")
"""The per-face figures (:mod:`keypoints.predict.face_figures`): the detector's score (0 to 1; empty for Haar),
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
(see docs/decisions.md, "The results page's face crops")."""

FACE_MARGIN = 1.5
"""Side of the crop around a face / side of the detector's box: the whole head and some background
(see docs/decisions.md, "The results page's face crops")."""

DIR_FACES = "faces"
"""Subfolder of the output folder for the zoomed face crops."""


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


def write_csv(path, results):
    """Write ``keypoints.csv``; keypoints with two decimals (1/100 px). Returns the path."""
    text = results_table(results).to_csv(index=False, float_format="%.2f")
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
        ``model`` (file name), ``network``, ``valid_rmse_px``, ``synthetic_data``, ``data`` and ``detector``;
        None where unknown.
    """
    card = getattr(model, "card", None) or {}
    return {
        "model": str(model.path) if model is not None else None,
        "network": card.get("network", getattr(getattr(model, "network", None), "name", None)),
        "valid_rmse_px": card.get("best_valid_rmse_px"),
        "synthetic_data": card.get("synthetic_data"),
        "data": card.get("data"),
        "detector": None if detector is None else getattr(detector, "name", None) or type(detector).__name__,
    }


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


def write_html(path, results, about=None, links=("keypoints.csv",)):
    """Write ``index.html``: a summary at the top, then every photo with its faces, then the unreadable files.

    Every name is HTML-escaped and every link URL-quoted, so a photo named
    ``<b>x</b>.jpg`` shows as that text.

    Parameters
    ----------
    path : str or Path
    results : list of PhotoResult
    about : dict, optional
        From :func:`model_summary`: the model, its card's figures and the detector.
    links : sequence of str
        Files beside the page to link at the top (``keypoints.csv``, ``results.json``).

    Returns
    -------
    Path
    """
    path = Path(path)
    about = about or {}
    read = [r for r in results if r.error is None]
    unreadable = [r for r in results if r.error is not None]
    photos = [r for r in read if not hasattr(r, "frames")]
    n_faces = sum(len(r.faces) for r in photos)
    n_empty = sum(1 for r in photos if not r.faces)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>keypoints: results</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<header><h1 id="counts">{_counts(photos, n_faces, [r for r in read if hasattr(r, "frames")])}</h1>',
        f'<p class="counts">{_plural(n_empty, "photo")} without a face; '
        f"{_plural(len(unreadable), 'file')} could not be read.</p>",
        _about_html(about),
        _legend_html(),
        '<p class="links">Data: '
        + ", ".join(f'<a href="{quote(name)}">{html.escape(name)}</a>' for name in links)
        + "</p></header>",
    ]
    for index, result in enumerate(read):
        parts.append(_photo_html(index, result, path.parent))
    if unreadable:
        parts.append(f'<section id="unreadable"><h2>{_plural(len(unreadable), "file")} could not be read</h2><ul>')
        parts += [f'<li class="error">{html.escape(r.error)}</li>' for r in unreadable]
        parts.append("</ul></section>")
    parts.append("</body></html>")
    return _write_atomic(path, ("\n".join(parts) + "\n").encode("utf-8", errors=ESCAPE))


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1em auto;max-width:1200px;padding:0 1em;color:#222}"
    "header{border-bottom:1px solid #ccc;margin-bottom:1em}h1{margin:.2em 0}"
    "h2{font-size:1.1em;overflow-wrap:anywhere;margin:.2em 0}"
    "dl.about{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.5em 0}dt{font-weight:bold}"
    "dd{margin:0}ul.legend{list-style:none;padding:0;display:flex;gap:1em;flex-wrap:wrap}"
    ".swatch{display:inline-block;width:.9em;height:.9em;border-radius:50%;border:1px solid #000;"
    "vertical-align:middle;margin-right:.3em}"
    "section.photo{border-bottom:1px solid #eee;padding:1em 0}"
    "img.photo,video.photo{max-width:100%;max-height:480px;display:block;margin:.5em 0}"
    ".faces{display:flex;flex-wrap:wrap;gap:1em}"
    "article.face{border:1px solid #ccc;border-radius:6px;padding:.5em;width:256px}"
    "article.face img{width:256px;height:256px;display:block;image-rendering:auto}"
    "article.face h3{margin:.3em 0;font-size:1em}table{border-collapse:collapse;font-size:.85em}"
    "td,th{padding:0 .4em;text-align:right}td:first-child{text-align:left}"
    ".none,.error{color:#b00}.warning{color:#a60;font-weight:bold}"
)


def _about_html(about):
    rows = []
    if about.get("model"):
        model = html.escape(Path(about["model"]).name)
        if about.get("network"):
            model += f" ({html.escape(str(about['network']))})"
        rows.append(("model", model))
    if about.get("valid_rmse_px") is not None:
        text = f"{about['valid_rmse_px']:.3f} px in the network's 96 x 96 px face crops, on people it never saw"
        rows.append(("validation RMSE", text))
    if about.get("data"):
        data = html.escape(str(about["data"]))
        if about.get("synthetic_data"):
            data += ' <span class="warning">(synthetic faces: not a model for real photos)</span>'
        rows.append(("trained on", data))
    if about.get("detector"):
        rows.append(("detector", html.escape(str(about["detector"]))))
    rows.append(("date", html.escape(_now())))
    body = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<dl class="about">{body}</dl>'


_PART_LABELS = {"eye": "eyes", "eyebrow": "eyebrows", "nose": "nose tip", "mouth": "mouth"}


def _legend_html():
    items = []
    for part, (b, g, r) in PART_COLOURS.items():
        names = ", ".join(n.replace("_", " ") for n in KEYPOINTS if part_of(n) == part)
        items.append(
            f'<li title="{html.escape(names)}"><span class="swatch" style="background:#{r:02x}{g:02x}{b:02x}">'
            f"</span>{_PART_LABELS[part]}</li>"
        )
    return '<ul class="legend" id="legend">' + "".join(items) + "</ul>"


def _photo_html(index, result, page_dir):
    if hasattr(result, "frames"):
        return _video_html(index, result, page_dir)
    name = html.escape(str(result.path))
    original = quote(_relative(result.path, page_dir), errors="surrogateescape")  # a name's own bytes
    width, height = result.size or ("?", "?")
    lines = [
        f'<section class="photo" id="photo-{index}"><h2>{name}</h2>',
        f'<p>{width} x {height} px; <a class="original" href="{original}">original</a>; '
        f"{_plural(len(result.faces), 'face')}</p>",
    ]
    if getattr(result, "output", None):
        lines.append(
            f'<a href="{quote(result.output.name)}"><img class="photo" src="{quote(result.output.name)}" '
            f'alt="{html.escape(str(result.path), quote=True)} with its keypoints"></a>'
        )
    if not result.faces:
        lines.append(
            '<p class="none">No face found: the detector found no face, or only faces too small '
            "(under 20 px) or turned too far from the camera.</p></section>"
        )
        return "\n".join(lines)
    lines.append('<div class="faces">')
    crops = getattr(result, "crops", None) or []
    for number, face in numbered(result.faces):
        lines.append(_face_html(number, face, crops[number] if number < len(crops) else None, result.size))
    lines.append("</div></section>")
    return "\n".join(lines)


def _video_html(index, result, page_dir):
    """A video: the annotated video in a ``<video>`` element (its first annotated frame as the poster)."""
    name = html.escape(str(result.path))
    width, height = result.size or ("?", "?")
    lines = [
        f'<section class="photo video" id="photo-{index}"><h2>{name}</h2>',
        f"<p>video, {width} x {height} px, {result.frames} frames at {result.fps:g} fps; "
        f'<a class="original" href="{quote(_relative(result.path, page_dir))}">original</a>; '
        f"{_plural(result.tracks, 'face track')}</p>",
    ]
    if result.output and result.video:
        lines.append(
            f'<video class="photo" controls preload="metadata" poster="{quote(result.output.name)}" '
            f'src="{quote(result.video.name)}" title="{html.escape(str(result.path), quote=True)} with its '
            f'keypoints"><a href="{quote(result.video.name)}">the annotated video</a></video>'
        )
    lines.append("</section>")
    return "\n".join(lines)


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


def _face_html(number, face, crop, size):
    details = figures_html(face_figures(face, size))
    x, y, w, h = (int(v) for v in face.box)
    image = (
        f'<img src="{quote(DIR_FACES + "/" + crop.name)}" alt="face {number} zoomed, with its keypoints">'
        if crop
        else ""
    )
    table = "".join(
        f"<tr><td>{n.replace('_', ' ')}</td><td>{px:.1f}</td><td>{py:.1f}</td></tr>"
        for n, (px, py) in zip(KEYPOINTS, face.keypoints)
    )
    return (
        f'<article class="face" data-face="{number}">{image}<h3>face {number}</h3>'
        f"<ul><li>box {w} x {h} px at ({x}, {y})</li>{details}</ul>"
        f"<details><summary>the 30 values (photo pixels)</summary><table><tr><th>keypoint</th><th>x</th>"
        f"<th>y</th></tr>{table}</table></details></article>"
    )


def _relative(target, start):
    """A link from ``start`` to ``target``: relative when possible (the page can be moved with the photos)."""
    try:
        return Path(os.path.relpath(Path(target).resolve(), Path(start).resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(target).resolve().as_uri()


def _counts(photos, n_faces, videos):
    """The page's headline: photos and their faces, then videos, their frames and face tracks, counted apart."""
    parts = [f"{_plural(len(photos), 'photo')}, {_plural(n_faces, 'face')}"] if photos or not videos else []
    if videos:
        frames, tracks = sum(v.frames for v in videos), sum(v.tracks for v in videos)
        parts.append(f"{_plural(len(videos), 'video')}, {_plural(frames, 'frame')}, {_plural(tracks, 'face track')}")
    return "; ".join(parts)


def _plural(count, noun):
    return f"{count} {noun}{'s'[: count != 1]}"


def _finite(value):
    return round(float(value), 2) if math.isfinite(float(value)) else None


def _now():
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_jpeg(path, image):
    """Write a BGR image (H, W, 3) as a JPEG of quality 90, atomically (see :func:`_write_atomic`). Returns the path."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        from keypoints.errors import ImageError

        raise ImageError(f"{path}: could not be encoded as JPEG")
    return _write_atomic(path, encoded.tobytes())


def _write_atomic(path, data):
    """Write bytes under a temporary name, then rename: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        from keypoints.errors import KeypointsError

        raise KeypointsError(f"{path}: could not be written ({error.strerror}); is {path.parent} writable?") from None
    return path
