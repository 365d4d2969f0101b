"""Writing without losing anything: atomic files, run folders, a lock per output folder, checked output paths.

Every file the package writes (models, reports, CSV, HTML, submissions,
images) goes through :func:`replacing`: the bytes go to a temporary name in
the same folder, are flushed to disk, and the temporary file is renamed over
the target with ``os.replace``, so a reader (or the next run, after a crash or
Ctrl-C) sees the old file or the new one, never half of one (a run folder's stage: flushed once, at its commit).

A run that writes many files into one folder (``keypoints predict --out``)
uses a :class:`RunFolder`: the files are written into a hidden staging folder
inside it and moved into place only when the run has finished, its index
last; a run that stops early removes its staging folder and leaves the
previous complete results. The folder is locked for the run (a
``.keypoints.lock`` file holding the writer's pid), so a second run into the
same folder is refused instead of mixing its rows with the first one's.
"""

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from keypoints.errors import OutputPathError
from keypoints.path_text import ESCAPE, missing_reason, show

LOCK_NAME = ".keypoints.lock"
"""The lock file of an output folder (hidden, so photo searches skip it)."""

STAGING_PREFIX = ".keypoints-run-"
"""Prefix of a run's staging folder inside its output folder (hidden, so photo searches skip it)."""

MARKER_NAME = ".keypoints-results"
"""The marker of a results folder: JSON naming what wrote it and the files (relative paths) of its last run."""

MARKER_FORMAT = "keypoints-results"


@contextlib.contextmanager
def replacing(path, suffix=None):
    """Yield a temporary path next to ``path``; when the block ends without an error, it replaces ``path``.

    The temporary file is flushed to disk before the rename; on an error (or
    Ctrl-C) it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder must exist.
    suffix : str, optional
        Suffix of the temporary name (some writers choose the format from it); default ``path``'s own.

    Yields
    ------
    Path
        Write the whole content here (the file exists, empty).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{show(path)}: a folder, not a file; give the name of a file to write")
    try:
        # hidden, and ending with the real suffix, so that writers that choose the format from it still can
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp" + (path.suffix if suffix is None else suffix)
        )
    except OSError as error:
        raise OutputPathError(f"{show(path)}: cannot be written ({error.strerror or error})") from None
    os.close(handle)
    temporary = Path(temporary)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # as open() would make it, not mkstemp's 0600
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
        note_written(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (see :func:`replacing`); returns the path. Into a :class:`RunFolder`'s
    stage, as it is: nothing reads it, and the commit flushes all its files at once before moving them in."""
    path = Path(path)
    if _STAGES and any(p in _STAGES for p in Path(os.path.abspath(path)).parents):
        path.write_bytes(data)
    else:
        with replacing(path) as temporary:
            temporary.write_bytes(data)
    return path


def write_text(path, text, encoding="utf-8"):
    """Write ``text`` atomically; characters that cannot be encoded (a file name's stray bytes) become escapes."""
    return write_bytes(path, text.encode(encoding, errors=ESCAPE))


def current_umask():
    """The process's umask (read by setting it and putting it back, under a lock: threads write files too)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _fsync(path):
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _flush_to_disk(paths):
    """The files' contents on the disk: one ``sync`` (an ``fsync`` per file costs a disk flush each), else fsyncs."""
    if hasattr(os, "sync"):
        return os.sync()
    for path in paths:
        _fsync(path)


def check_output_file(path, option="--out", inputs=()):
    """Refuse, before any work, an output file that cannot be written or that is one of the inputs.

    Parameters
    ----------
    path : str or Path
        The file to be written (it may exist: it will be replaced whole).
    option : str
        The option that named it, for the message.
    inputs : iterable of str or Path
        Files the run reads; none may be the output.

    Raises
    ------
    OutputPathError
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(
            f"{option} {show(path)}: a folder, not a file; give a file name, as in {show(path / 'submission.csv')}"
        )
    for source in inputs:
        if _same_file(path, source):
            raise OutputPathError(
                f"{option} {show(path)} is the input file {show(source)}; inputs are never written, "
                "so choose another output file"
            )
    _check_folder_writable(path.parent, option, path)


def check_output_folder(path, option="--out"):
    """Refuse, before any work, an output folder that is a file or cannot be created or written.

    Raises
    ------
    OutputPathError
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{option} {show(path)}: a file, not a folder; give a folder (it is created if missing)")
    _check_folder_writable(path, option, path)


def _check_folder_writable(folder, option, named):
    existing = Path(os.path.abspath(folder))
    while not existing.exists():
        if existing.is_symlink():  # mkdir would fail on it with "file exists"
            raise OutputPathError(
                f"{option} {show(named)}: {show(existing)} is {missing_reason(existing)}; point it at a folder, "
                f"or choose another {option}"
            )
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{option} {show(named)}: {show(existing)} is a file, so no folder can be made there")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {show(named)}: the folder {show(existing)} is not writable")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


class FolderLock:
    """An output folder held by one run: ``.keypoints.lock`` holds the holder's pid.

    A lock whose pid is no longer running (a run killed without clean-up) is
    taken over; a live one makes :meth:`acquire` refuse with a message naming it.
    """

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_NAME
        self.held = False

    def acquire(self):
        """Take the lock, or raise :class:`OutputPathError` when a live run holds it."""
        for _ in range(3):  # a stale lock is removed, then the creation tried again
            try:
                handle = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                if not stat.S_ISREG(self.path.lstat().st_mode):  # reading a pipe would wait for ever
                    what = (
                        f"a symbolic link to {show(os.readlink(self.path))}"
                        if self.path.is_symlink()
                        else missing_reason(self.path)
                    )
                    raise OutputPathError(
                        f"{show(self.path)}: {what}, where the folder's lock file belongs, so whether a run holds "
                        "the folder cannot be told; remove it, or choose another --out folder"
                    ) from None
                holder = _read_pid(self.path)
                if holder is not None and _alive(holder):
                    raise OutputPathError(
                        f"{show(self.path.parent)} is being written by another keypoints run (pid {holder}); "
                        f"wait for it to finish or choose another --out folder (if no such run exists, "
                        f"remove {show(self.path)})"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its holder is gone
                continue
            with os.fdopen(handle, "w") as lock:
                lock.write(f"{os.getpid()}\n")
            self.held = True
            return self
        raise OutputPathError(f"{show(self.path)}: could not take the lock of the folder; try again")

    def release(self):
        """Give the lock back (only when this process holds it)."""
        if self.held and _read_pid(self.path) == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _read_pid(path):
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError as error:
        return error.errno != errno.ESRCH
    return True


def results_files(folder):
    """The files (relative POSIX paths) that the marker of a results folder lists, or None without a marker.

    A marker that cannot be read lists nothing (an empty set): the folder is still one keypoints wrote.
    """
    marker = Path(folder) / MARKER_NAME
    if not marker.is_file():
        return None
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        return {str(name) for name in record["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def foreign_entries(folder):
    """The entries of ``folder`` that no keypoints run wrote: not hidden, not listed in its marker.

    A subfolder counts as written when the marker lists files in it or it holds a marker of its own.

    Returns
    -------
    list of str
        Sorted names; empty for a missing or empty folder, or one holding only results.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    listed = results_files(folder) or set()
    tops = {name.split("/", 1)[0] for name in listed}
    found = []
    for entry in folder.iterdir():
        if entry.name.startswith(".") or entry.name in tops:
            continue
        if entry.is_dir() and not entry.is_symlink() and results_files(entry) is not None:
            continue
        found.append(entry.name)
    return sorted(found)


def record_results(folder, names, written_by, keep=()):
    """Write the marker of a results folder, listing ``names`` and ``keep`` (POSIX paths relative to it).

    Returns
    -------
    Path
        The marker.
    """
    folder = Path(folder)
    names = sorted(set(names) | set(keep))
    record = {"format": MARKER_FORMAT, "written_by": written_by, "files": names}
    return write_text(folder / MARKER_NAME, json.dumps(record, indent=1) + "\n")


_RUNS = {}
"""The results folders this process holds as :class:`RunFolder`: resolved path -> RunFolder."""

_STAGES, _UMASK_LOCK = set(), threading.Lock()
"""The staging folders of the :class:`RunFolder` this process holds (absolute paths); the umask's lock."""


def note_written(path):
    """Tell the run that holds ``path``'s folder (if any) that ``path`` is one of its results."""
    path = Path(path)
    for folder in (path.parent, *path.parent.parents):
        run = _RUNS.get(folder.resolve())
        if run is not None:
            relative = path.resolve().relative_to(folder.resolve())
            if not any(part.startswith(".") for part in relative.parts):  # the staging folder: not a result yet
                run.written.add(relative.as_posix())
            return


class RunFolder:
    """A run's results, written into a staging folder and moved into ``folder`` only when complete.

    Use as a context manager: it locks ``folder`` and makes ``stage``; write
    every result into ``stage``, then call :meth:`commit`. Leaving the block
    without a commit (an error, Ctrl-C, :meth:`abandon`) removes ``stage`` and leaves
    ``folder`` as it was. Files written into ``folder`` through this module
    while the block runs count as results too. When the block ends, the
    marker lists this run's files; on success, the files an earlier run wrote
    there and this one did not are removed (never a file no run listed).

    Parameters
    ----------
    folder : str or Path
        The output folder (created when missing).
    written_by : str
        Stored in the marker.
    """

    def __init__(self, folder, written_by="keypoints predict"):
        self.folder = Path(folder)
        self.stage = None
        self.written = set()
        self.written_by = written_by
        self.abandoned = False
        self._earlier = set()
        self._lock = FolderLock(self.folder)

    def __enter__(self):
        check_output_folder(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            for old in self.folder.glob(STAGING_PREFIX + "*"):
                # a stage left by a run that was killed (we hold the lock); only a real folder: rmtree opens what
                # it is given, and opening a pipe waits for ever
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
            self.stage = Path(tempfile.mkdtemp(dir=self.folder, prefix=STAGING_PREFIX))
            self._earlier = results_files(self.folder) or set()
        except BaseException:
            self._lock.release()
            raise
        _RUNS[self.folder.resolve()] = self
        _STAGES.add(Path(os.path.abspath(self.stage)))
        return self

    def commit(self, last=()):
        """Move every staged file into the folder, the names in ``last`` after the others.

        Parameters
        ----------
        last : iterable of str
            File names (relative to the stage) moved at the end (an index that points at the rest).

        Returns
        -------
        list of Path
            The files now in the folder.
        """
        last = list(last)
        files = sorted(p for p in self.stage.rglob("*") if p.is_file())  # subfolders too (face crops)
        staged = [p for p in files if p.relative_to(self.stage).as_posix() not in last]
        staged += [self.stage / name for name in last if (self.stage / name).is_file()]
        _flush_to_disk(staged)  # the contents are on the disk before any name points at them
        moved = []
        for path in staged:
            relative = path.relative_to(self.stage)
            target = self.folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            self.written.add(relative.as_posix())
            moved.append(target)
        return moved

    def abandon(self):
        """End the block as an error would: the staged files are dropped and the folder keeps the earlier run."""
        self.abandoned = True

    def __exit__(self, kind, *exc):
        _RUNS.pop(self.folder.resolve(), None)
        done = kind is None and not self.abandoned
        try:
            if self.stage is not None:
                _STAGES.discard(Path(os.path.abspath(self.stage)))
                shutil.rmtree(self.stage, ignore_errors=True)
            if self.written or done:
                # every file of the earlier run stays listed until it is gone, so none is ever taken for the user's
                record_results(self.folder, self.written, self.written_by, keep=self._earlier)
                if done:
                    self._remove_earlier()
                    record_results(self.folder, self.written, self.written_by)
        finally:
            self._lock.release()

    def _remove_earlier(self):
        """Remove the files the earlier run wrote and this one did not, and the subfolders left empty."""
        for name in sorted(self._earlier - self.written):
            path = self.folder / name
            inside = path.parent.resolve().is_relative_to(self.folder.resolve())
            if not inside or path.is_symlink() or not path.is_file():
                continue  # a marker is only trusted for plain files inside the folder
            path.unlink(missing_ok=True)
            for parent in path.parents:
                if parent == self.folder or not parent.is_relative_to(self.folder):
                    break
                with contextlib.suppress(OSError):
                    parent.rmdir()  # only when empty
