"""The results page: ``index.html`` (and ``index-2.html``... past ``PAGE_FILES`` files), every name escaped."""

import html
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from keypoints.atomic import ESCAPE
from keypoints.data.schema import KEYPOINTS
from keypoints.predict.outputs.draw import PART_COLOURS, part_of
from keypoints.predict.outputs.face_figures import face_figures, figures_html, numbered
from keypoints.predict.outputs.files import DIR_FACES, _write_atomic

PAGE_FILES = 100
"""Files shown per results page: ``index.html`` holds the first ones and links to ``index-2.html`` and on,
so a page opens fast at any count (see docs/decisions/0045-a-results-page-at-any-count.md)."""


def write_html(path, results, about=None, links=("keypoints.csv",), per_page=None):
    """Write ``index.html``: a summary at the top, then every photo with its faces, then the unreadable files.

    Past ``per_page`` files the page is split: ``index.html`` holds the first ones, ``index-2.html``
    the next, and so on; each page has the summary and links to all the others. Images load lazily.
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
    per_page : int, optional
        Files (photos, videos and unreadable files) per page; default ``PAGE_FILES``.

    Returns
    -------
    Path
        The first page.
    """
    path = Path(path)
    about = about or {}
    per_page = per_page or PAGE_FILES
    read = [r for r in results if r.error is None]
    unreadable = [r for r in results if r.error is not None]
    photos = [r for r in read if not hasattr(r, "frames")]
    n_faces = sum(len(r.faces) for r in photos)
    n_empty = sum(1 for r in photos if not r.faces)
    head = [
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
    entries = read + unreadable
    pages = [entries[k : k + per_page] for k in range(0, len(entries), per_page)] or [[]]
    names = [page_name(path.name, number) for number in range(len(pages))]
    for number, page in enumerate(pages):
        nav = [_pages_html(names, number, per_page, len(entries))] if len(pages) > 1 else []
        parts = head + nav
        first = number * per_page
        parts += [_photo_html(first + k, r, path.parent) for k, r in enumerate(page) if r.error is None]
        bad = [r for r in page if r.error is not None]
        if bad:
            parts.append(f'<section id="unreadable"><h2>{_plural(len(unreadable), "file")} could not be read</h2><ul>')
            parts += [f'<li class="error">{html.escape(r.error)}</li>' for r in bad]
            parts.append("</ul></section>")
        parts += nav + ["</body></html>"]
        _write_atomic(path.with_name(names[number]), ("\n".join(parts) + "\n").encode("utf-8", errors=ESCAPE))
    return path


def page_name(first, number):
    """File name of results page ``number`` (from 0): ``first`` itself, then ``index-2.html``, ``index-3.html``..."""
    stem, suffix = os.path.splitext(first)
    return first if number == 0 else f"{stem}-{number + 1}{suffix}"


def _pages_html(names, current, per_page, total):
    items = []
    for number, name in enumerate(names):
        first, last = number * per_page + 1, min((number + 1) * per_page, total)
        span = f"{first}-{last}" if last > first else str(first)
        if number == current:
            items.append(f' <strong aria-current="page">{span}</strong>')
        else:
            items.append(f' <a href="{quote(name)}">{span}</a>')
    return f'<nav class="pages">Files {"".join(items)}</nav>'


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
    "nav.pages{margin:.5em 0;line-height:1.8}nav.pages a,nav.pages strong{margin-right:.4em}"
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
    if about.get("sources") or about.get("data"):
        data = html.escape(", ".join(map(str, about.get("sources") or [about["data"]])))
        if about.get("synthetic_data"):
            data += ' <span class="warning">(synthetic faces: not a model for real photos)</span>'
        rows.append(("trained on", data))
    if about.get("convention"):
        rows.append(("keypoints in", html.escape(about["convention"])))
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
            f'loading="lazy" decoding="async" alt="{html.escape(str(result.path), quote=True)} with its keypoints"></a>'
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


def _face_html(number, face, crop, size):
    details = figures_html(face_figures(face, size))
    x, y, w, h = (int(v) for v in face.box)
    image = (
        f'<img src="{quote(DIR_FACES + "/" + crop.name)}" loading="lazy" '
        f'alt="face {number} zoomed, with its keypoints">'
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


def _now():
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
