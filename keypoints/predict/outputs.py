"""What the predictor writes besides the annotated photos: keypoints.csv and index.html."""

import html
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from keypoints.data.schema import KEYPOINT_COLUMNS

CSV_COLUMNS = ("file", "face", "box_x", "box_y", "box_w", "box_h", "score", "error_px", *KEYPOINT_COLUMNS)
"""One row per face: the photo, the face's number in it (from 0, largest
first), the detector's box, its score (empty for Haar, which gives none), the
estimated mean keypoint error in pixels, and the 30 Kaggle columns, all in photo pixels."""


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


def results_table(results):
    """The rows of ``keypoints.csv`` as a DataFrame with ``CSV_COLUMNS``."""
    rows = []
    for result in results:
        for number, face in enumerate(result.faces):
            confidence = [getattr(face, "score", float("nan")), getattr(face, "error_px", float("nan"))]
            rows.append([str(result.path), number, *face.box, *confidence, *face.keypoints.ravel().tolist()])
    table = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
    return table.astype({c: "int64" for c in CSV_COLUMNS[1:6]})


def write_csv(path, results):
    """Write ``keypoints.csv``; keypoints with two decimals (1/100 px). Returns the path."""
    results_table(results).to_csv(path, index=False, float_format="%.2f")
    return Path(path)


def write_html(path, results):
    """Write ``index.html``: every annotated photo with its file name and face count, then the unreadable files.

    Every name is HTML-escaped, and image links are URL-quoted, so a photo
    named ``<b>x</b>.jpg`` shows as that text.
    """
    read = [r for r in results if r.error is None]
    unreadable = [r for r in results if r.error is not None]
    n_faces = sum(len(r.faces) for r in read)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>keypoints: results</title>',
        "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:.5em;"
        "vertical-align:top}img{max-width:480px;max-height:480px;display:block}"
        "figcaption{max-width:480px;word-break:break-all}.error{color:#b00}</style></head><body>",
        f"<h1>{len(read)} photo{'s'[: len(read) != 1]}, {n_faces} face{'s'[: n_faces != 1]}</h1>",
    ]
    for result in read:
        count = len(result.faces)
        caption = f"{html.escape(str(result.path))}: {count} face{'s'[: count != 1]}"
        image = (
            (
                f'<a href="{quote(result.output.name)}"><img src="{quote(result.output.name)}" '
                f'alt="{html.escape(str(result.path), quote=True)}"></a>'
            )
            if result.output
            else ""
        )
        parts.append(f'<figure class="photo">{image}<figcaption>{caption}</figcaption></figure>')
    if unreadable:
        parts.append(f"<h2>{len(unreadable)} file{'s'[: len(unreadable) != 1]} could not be read</h2><ul>")
        parts += [f'<li class="error">{html.escape(r.error)}</li>' for r in unreadable]
        parts.append("</ul>")
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts) + "\n", encoding="utf-8")
    return Path(path)
