"""Finding the photos in a mix of files and folders."""

import hashlib
import os
from pathlib import Path

from keypoints import atomic
from keypoints.atomic import show
from keypoints.errors import OutputPathError

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
"""Suffixes (any case) that a folder search takes as photos."""

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
"""Suffixes (any case) taken as videos, in folders and named directly (OpenCV's FFmpeg reads them)."""

MAX_STEM_BYTES = 200
"""Longest stem (UTF-8 bytes) of an output name: with ``-face12.jpg`` or ``.partial.mp4`` added it stays
under the 255 bytes a file name may have. A longer one is cut and given a short hash of the whole name
(see docs/decisions/0043-output-names-of-long-photo-names.md)."""


def find_photos(paths, exclude=()):
    """The photos named by a mix of files and folders.

    A file named directly is taken whatever its suffix (reading it says whether
    it is an image). Folders are searched recursively for ``PHOTO_SUFFIXES`` and ``VIDEO_SUFFIXES``,
    in sorted order, skipping hidden files and folders (such as macOS's ``._x.jpg``
    companions, which are not images) and the folders in ``exclude`` (the
    predictor's own output, so that a second run does not annotate its results). Files that the marker of
    a results folder lists (:func:`keypoints.atomic.results_files`) are never taken: they are outputs.

    Parameters
    ----------
    paths : iterable of str or Path
    exclude : iterable of str or Path
        Folders left out of folder searches.

    Returns
    -------
    photos : list of Path
        Each photo once, in the order given.
    missing : list of Path
        Paths that are neither a file nor a folder, files a run wrote, and folders that hold only
        results (:func:`describe_missing` says which); in a folder, entries that may have been meant as photos,
        videos or folders but cannot be read (:func:`_unreadable_entry`).
    """
    excluded = {Path(p).resolve() for p in exclude}
    photos, missing, seen = [], [], set()
    outputs = _Outputs()

    def add(path):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            photos.append(path)

    for path in map(Path, paths):
        if path.is_file():
            if outputs.wrote(path):
                missing.append(path)
            else:
                add(path)
        elif path.is_dir():
            before, skipped_outputs = len(photos), 0
            # the searched folder itself is never skipped: an --out equal to it is refused by the caller
            skipped = excluded - {path.resolve()}
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path).parts
                if any(part.startswith(".") for part in relative):
                    continue
                # only folders below the searched one: an --out above it (`--out .`) skips nothing
                if any(path.joinpath(*relative[:k]).resolve() in skipped for k in range(1, len(relative))):
                    continue
                if found.suffix.lower() in PHOTO_SUFFIXES | VIDEO_SUFFIXES and found.is_file():
                    if outputs.wrote(found, path):
                        skipped_outputs += 1
                    else:
                        add(found)
                elif _unreadable_entry(found):
                    missing.append(found)
            if skipped_outputs and len(photos) == before:
                missing.append(path)  # only results of earlier runs: say so rather than "no photos"
        else:
            missing.append(path)
    return photos, missing


def _unreadable_entry(path):
    """Whether a folder's entry is a link to nothing, a link loop, a named pipe, a device or a socket that is named
    like a photo or video, or has no suffix (it may have been a folder), or is a link to such a name.

    Such entries are named as unreadable rather than skipped: a link whose target went away, or a pipe named
    ``x.jpg``, was meant to be read.
    """
    if path.is_file() or path.is_dir():
        return False
    names = [path.name]
    if path.is_symlink():
        try:
            names.append(os.readlink(path))
        except OSError:
            pass
    wanted = PHOTO_SUFFIXES | VIDEO_SUFFIXES | {""}
    return any(Path(name).suffix.lower() in wanted for name in names)


class _Outputs:
    """Which files the marker of a results folder lists, the markers read once per folder."""

    def __init__(self):
        self.listed = {}

    def wrote(self, path, top=None):
        """Whether a run wrote ``path``: a marker in its folder, or one above it up to ``top``, lists it."""
        path = Path(path).absolute()
        top = Path(top).absolute() if top is not None else None
        for folder in path.parents:
            if folder not in self.listed:
                self.listed[folder] = atomic.results_files(folder) or set()
            if path.relative_to(folder).as_posix() in self.listed[folder]:
                return True
            if folder == top or top is None and folder != path.parent:
                return False  # a file named directly: its own folder's marker and the one above
        return False


def describe_missing(path):
    """``path: why`` for a path :func:`find_photos` gave as missing: what it is, in words.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    path = Path(path)
    if path.is_dir():
        return (
            f"{show(path)}: holds only the results of an earlier keypoints run (its {atomic.MARKER_NAME} lists "
            "them), which are never read as photos; name the folder of the photos"
        )
    if path.is_file():
        return (
            f"{show(path)}: written by an earlier keypoints run (a results folder's {atomic.MARKER_NAME} "
            "lists it), so not read as a photo; name the original photo"
        )
    return f"{show(path)}: {atomic.missing_reason(path)}"


def printable_names(names):
    """Output file names that are valid UTF-8: stray bytes of a photo's name become U+FFFD, repeats get numbers.

    A name that is not valid UTF-8 can be read, but not written by every tool,
    put in a URL or shown in a page; its copy gets a readable name instead. A stem over
    ``MAX_STEM_BYTES`` is cut and ends with ``~`` and 8 hex digits of the whole name's SHA-1.

    Parameters
    ----------
    names : dict of Path to str
        Output file name of each photo (from ``result_names``).

    Returns
    -------
    dict of Path to str
    """
    printable, used = {}, set()
    for path, name in names.items():
        original = os.fsencode(name)
        name = original.decode("utf-8", errors="replace")
        stem, suffix = os.path.splitext(name)
        if len(stem.encode("utf-8")) > MAX_STEM_BYTES:
            short = stem.encode("utf-8")[: MAX_STEM_BYTES - 9].decode("utf-8", errors="ignore")  # whole characters
            stem = f"{short}~{hashlib.sha1(original).hexdigest()[:8]}"
            name = stem + suffix
        candidate, number = name, 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{stem}-{number}{suffix}"
        used.add(candidate.lower())
        printable[path] = candidate
    return printable


def refuse_overwriting_inputs(out_dir, paths, photos, file_names, images=True):
    """Refuse, before any work, an ``--out`` whose results would replace or mix with the inputs.

    Parameters
    ----------
    out_dir : Path
        The output folder.
    paths : iterable of str or Path
        The files and folders the user named.
    photos : list of Path
        The photos found in them.
    file_names : iterable of str
        The names the run writes into ``out_dir``.
    images : bool
        The run writes annotated copies and a page; without, only the data files (the names
        of ``file_names`` that are not photos or videos) are written.

    Raises
    ------
    OutputPathError
        With ``images``: ``out_dir`` is one of the folders searched for photos (a second run would
        read the first one's annotated copies), or holds anything no keypoints run wrote. Always: a
        file it would write is one of the photos, or a file no keypoints run wrote.
    """
    out = Path(os.path.abspath(out_dir))
    if not images:
        file_names = [n for n in file_names if Path(n).suffix.lower() not in PHOTO_SUFFIXES | VIDEO_SUFFIXES]
    for path in map(Path, paths):
        if images and path.is_dir() and _same(path, out):
            raise OutputPathError(
                f"--out {show(out_dir)} is the folder of the photos ({show(path)}): the annotated copies would "
                f"mix with the photos and be read as photos by the next run. Choose another folder, e.g. "
                f"--out {show(Path(out_dir) / 'results')}, or write data only with --no-images"
            )
    if not out.is_dir():
        return
    inputs = {_identity(p) for p in photos}
    for name in file_names:
        target = out / name
        if target.exists() and _identity(target) in inputs:
            raise OutputPathError(
                f"--out {show(out_dir)}: writing {show(name)} there would replace the input photo "
                f"{show(target)}; inputs are never written. Choose another --out folder."
            )
    listed = atomic.results_files(out) or set()
    if images:
        foreign = atomic.foreign_entries(out)
        if foreign:
            shown = ", ".join(show(name) for name in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutputPathError(
                f"--out {show(out_dir)} holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} that no "
                f"keypoints run wrote ({shown}): the results would mix with them, and they are never removed. "
                "Choose a new or empty folder, or one an earlier `keypoints predict` wrote."
            )
        return
    for name in file_names:
        if (out / name).exists() and name not in listed:
            raise OutputPathError(
                f"--out {show(out_dir)}: writing {show(name)} there would replace a {show(name)} that no keypoints "
                "run wrote; it is never overwritten. Choose another --out folder."
            )


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _identity(path):
    try:
        status = Path(path).stat()
        return status.st_dev, status.st_ino
    except OSError:
        return os.path.abspath(path)
