"""Finding the photos in a mix of files and folders."""

from pathlib import Path

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
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path).parts
                if any(part.startswith(".") for part in relative):
                    continue
                if any(parent.resolve() in excluded for parent in found.parents):
                    continue
                if found.suffix.lower() in PHOTO_SUFFIXES | VIDEO_SUFFIXES and found.is_file():
                    add(found)
        else:
            missing.append(path)
    return photos, missing
