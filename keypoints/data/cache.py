"""A cache of parsed arrays that knows when its source file changed.

One entry per source file, in a folder named after the file's absolute path.
An entry records the file's size and the SHA-256 of all its bytes when it was
parsed; a load whose file no longer matches is a miss, and the next store
replaces the entry. Keying on the content, not the modification time, means an
edit that keeps the size and the time (a copy with ``cp -p``, a restored backup,
a tool that resets the time) is still noticed. Arrays are plain ``.npy`` files,
so a hit costs one pass of hashing over the file and a read of the arrays, with
no parsing (see docs/decisions/0038-parse-cache-keyed-on-content.md).

The folder is ``$KEYPOINTS_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/keypoints``
(``~/.cache/keypoints``). Entries are written to a temporary folder and renamed
into place, so an interrupted run never leaves a half-written entry behind.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

FORMAT_VERSION = 2
"""Bumped whenever what the parser returns changes, so old entries are ignored."""


def cache_dir():
    """The cache's root folder (not created here)."""
    if os.environ.get("KEYPOINTS_CACHE_DIR"):
        return Path(os.environ["KEYPOINTS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keypoints"


def load(source, variant):
    """The arrays and metadata stored for ``source``, or None when absent or stale.

    Parameters
    ----------
    source : Path
        The file the arrays were parsed from.
    variant : object
        Anything else the arrays depend on (for example whether bad rows were
        skipped); an entry stored under another variant is a miss.

    Returns
    -------
    tuple of (dict of str to ndarray, dict) or None
    """
    entry = _entry(source)
    try:
        meta = json.loads((entry / "meta.json").read_text())
        if meta.get("stamp") != _stamp(source, variant):
            return None
        arrays = {name: np.load(entry / f"{name}.npy") for name in meta["arrays"]}
    except (OSError, ValueError, KeyError):
        return None
    return arrays, meta["meta"]


def store(source, variant, payload):
    """Store arrays and JSON-able metadata for ``source``; failure to write only costs the speed-up.

    Parameters
    ----------
    source : Path
    variant : object
    payload : tuple of (dict of str to ndarray, dict)
    """
    arrays, meta = payload
    entry = _entry(source)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
        for name, array in arrays.items():
            np.save(scratch / f"{name}.npy", array)
        record = {
            "source": str(source.resolve()),
            "stamp": _stamp(source, variant),
            "arrays": sorted(arrays),
            "meta": meta,
        }
        (scratch / "meta.json").write_text(json.dumps(record))
        shutil.rmtree(entry, ignore_errors=True)
        scratch.rename(entry)
    except OSError:
        shutil.rmtree(locals().get("scratch", entry / "nothing"), ignore_errors=True)


def _entry(source):
    key = hashlib.sha1(os.fsencode(Path(source).resolve())).hexdigest()[:20]  # any file name, UTF-8 or not
    return cache_dir() / f"{Path(source).name}-{key}"


def _stamp(source, variant):
    return [FORMAT_VERSION, Path(source).stat().st_size, content_hash(source), repr(variant)]


def content_hash(source):
    """SHA-256 of every byte of ``source``, as hex."""
    with open(source, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
