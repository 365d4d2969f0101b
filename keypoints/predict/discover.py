"""Finding the photos in a mix of files and folders."""

import os
from pathlib import Path

from keypoints.atomic import show
from keypoints.errors import OutputPathError

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
"""Suffixes (any case) that a folder search takes as photos."""

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
"""Suffixes (any case) taken as videos, in folders and named directly (OpenCV's FFmpeg reads them)."""


def find_photos(paths, exclude=()):
    """The photos named by a mix of files and folders.

    A file named directly is taken whatever its suffix (reading it says whether
    it is an image). Folders are searched recursively for ``PHOTO_SUFFIXES`` and ``VIDEO_SUFFIXES``,
    in sorted order, skipping hidden files and folders (such as macOS's ``._x.jpg``
    companions, which are not images) and the folders in ``exclude`` (the
    predictor's own output, so that a second run does not annotate its results).

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
        Paths that are neither a file nor a folder.
    """
    excluded = {Path(p).resolve() for p in exclude}
    photos, missing, seen = [], [], set()

    def add(path):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            photos.append(path)

    for path in map(Path, paths):
        if path.is_file():
            add(path)
        elif path.is_dir():
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
                    add(found)
        else:
            missing.append(path)
    return photos, missing


def printable_names(names):
    """Output file names that are valid UTF-8: stray bytes of a photo's name become U+FFFD, repeats get numbers.

    A name that is not valid UTF-8 can be read, but not written by every tool,
    put in a URL or shown in a page; its copy gets a readable name instead.

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
        name = os.fsencode(name).decode("utf-8", errors="replace")
        stem, suffix = os.path.splitext(name)
        candidate, number = name, 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{stem}-{number}{suffix}"
        used.add(candidate.lower())
        printable[path] = candidate
    return printable


def refuse_overwriting_inputs(out_dir, paths, photos, file_names):
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

    Raises
    ------
    OutputPathError
        ``out_dir`` is one of the folders searched for photos (a second run would
        read the first one's annotated copies), or a file it would write is one
        of the photos.
    """
    out = Path(os.path.abspath(out_dir))
    for path in map(Path, paths):
        if path.is_dir() and _same(path, out):
            raise OutputPathError(
                f"--out {show(out_dir)} is the folder of the photos ({show(path)}): the annotated copies would "
                f"mix with the photos and be read as photos by the next run. Choose another folder, e.g. "
                f"--out {show(Path(out_dir) / 'results')}"
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
