"""`predict --out` into folders holding random leftovers (files, folders, links out of the folder, pipes, markers and
locks of any content): a run's results, or an OutputPathError that says why; never another exception, a wait for
ever, or a file outside the output folder touched."""

import contextlib
import itertools
import json
import os
import shutil
import threading

import pytest
from fuzzing import FAST, LONG, keypoints_error_or_result
from hostile import photo
from hypothesis import event, example, given
from hypothesis import strategies as st

from keypoints import atomic
from keypoints.errors import OutputPathError
from keypoints.predict import load_predictor_model, predict_photos

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes and links need a POSIX system")

KNOWN = [
    "keypoints.csv",
    "index.html",
    "index-2.html",
    "results.json",
    "a.jpg",
    "b.jpg",
    "walk.mp4",
    "faces",
    "faces/a-face0.jpg",
    atomic.MARKER_NAME,
    atomic.LOCK_NAME,
    atomic.STAGING_PREFIX + "old",
    atomic.STAGING_PREFIX + "old/a.jpg",
    "interrupted",
    f"interrupted/{atomic.MARKER_NAME}",
    "interrupted/walk.mp4",
    ".a.jpg.x.tmp.jpg",
    "-rf",
    "sub/deeper/x.png",
    "link",
    "out-link",
]
"""Names a leftover may have: the product's own, and a few a person might leave."""

name = st.one_of(
    st.sampled_from(KNOWN),
    st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]), min_size=1, max_size=30).filter(
        lambda n: n not in (".", "..") and len(n.encode()) < 200
    ),
)
marker_names = st.lists(
    st.one_of(
        st.sampled_from(KNOWN),
        st.sampled_from(["../outside/keep.txt", "/outside/keep.txt", "faces/../../outside/keep.txt", "", "."]),
        st.sampled_from(["link/keep.txt", "link", "out-link/keep.txt"]),
        name,
    ),
    max_size=6,
)
kinds = st.sampled_from(
    [
        "file",
        "file",
        "folder",
        "link to a file outside",
        "link to the outside folder",
        "link to nothing",
        "pipe",
        "marker",
        "lock",
    ]
)
lock_text = st.sampled_from(["", "1", "999999999", "garbage", "-1", "0", "self", "12 34"])
marker_text = st.one_of(
    marker_names.map(lambda names: json.dumps({"format": atomic.MARKER_FORMAT, "written_by": "x", "files": names})),
    st.sampled_from(["", "{", "[]", '{"files": 3}', '{"files": [1, null, {}]}', "\xff\xfe"]),
)
leftovers = st.lists(st.tuples(name, kinds, marker_text, lock_text), max_size=6)

COUNTER = itertools.count()


class Shipped:
    """The shipped model, with a short name in Hypothesis's reports."""

    model = None

    def __repr__(self):
        return "<the shipped model>"


@pytest.fixture(scope="module")
def model():
    shipped = Shipped()
    shipped.model = load_predictor_model()
    return shipped


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("folders")


@pytest.fixture(scope="module", autouse=True)
def no_disk_flush():
    """Commits without ``os.sync``: hundreds of runs would wait on every other writer of the disk, and what is
    tested here is which files end where, not that they reached the disk."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(atomic, "_flush_to_disk", lambda paths: None)
        yield


def snapshot(folder):
    """Every entry under ``folder`` (links not followed): kind, and bytes for files."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = ("link", os.readlink(path))
        elif path.is_file():
            found[relative] = ("file", path.read_bytes())
        else:
            found[relative] = ("folder" if path.is_dir() else "other", None)
    return found


def make(out, outside, entries):
    """Put the leftovers into ``out``; an entry that cannot be made (a name under a file) is left out."""
    for entry_name, kind, marker, lock in entries:
        path = out / entry_name
        if kind == "marker":
            path = path.parent / atomic.MARKER_NAME if "/" in entry_name else out / atomic.MARKER_NAME
        elif kind == "lock":
            path = out / atomic.LOCK_NAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replaces = kind == "marker" and path.is_file() and not path.is_symlink()  # the first run's marker
            if os.path.lexists(path) and not replaces:
                continue
            if kind in ("file", "marker", "lock"):
                text = {"marker": marker, "lock": str(os.getpid()) if lock == "self" else lock}.get(kind, "left over")
                path.write_text(text, encoding="utf-8", errors="surrogateescape")
            elif kind == "folder":
                path.mkdir()
            elif kind == "link to a file outside":
                path.symlink_to(outside / "keep.txt")
            elif kind == "link to the outside folder":
                path.symlink_to(outside)
            elif kind == "link to nothing":
                path.symlink_to(out.parent / "nowhere")
            elif kind == "pipe":
                os.mkfifo(path)
        except (OSError, UnicodeEncodeError):
            continue


def check_run(model, root, first_run, entries):
    case = root / f"case{next(COUNTER)}"
    inputs, outside, out = case / "inputs", case / "outside", case / "out"
    for folder in (inputs, outside, out):
        folder.mkdir(parents=True)
    photo(inputs / "a.jpg")
    (outside / "keep.txt").write_text("the user's file")
    photo(outside / "a.jpg")
    (outside / "keypoints.csv").write_text("file,face\n")
    if first_run:
        predict_photos([inputs], model.model, out, workers=1)
    make(out, outside, entries)
    before, untouched = snapshot(out), (snapshot(inputs), snapshot(outside))
    with keypoints_error_or_result() as refused:
        summary = predict_photos([inputs], model.model, out, workers=1)
    assert (snapshot(inputs), snapshot(outside)) == untouched
    event("refused" if refused else "written")
    if refused:
        assert isinstance(refused[0], OutputPathError), refused[0]
        assert snapshot(out) == before  # refused before anything was written
    else:
        assert summary.exit_code == 0 and (out / "keypoints.csv").is_file() and (out / "a.jpg").is_file()
        listed = atomic.results_files(out)
        assert {"a.jpg", "index.html", "keypoints.csv"} <= listed
        staged = [p for p in out.glob(atomic.STAGING_PREFIX + "*") if p.is_dir() and not p.is_symlink()]
        assert staged == [] and not os.path.lexists(out / atomic.LOCK_NAME)  # a file of that name is the user's
    shutil.rmtree(case)


@FAST
@given(first_run=st.booleans(), entries=leftovers)
@example(first_run=True, entries=[(atomic.MARKER_NAME, "pipe", "", "")])
@example(
    first_run=True,
    entries=[
        ("out-link", "link to the outside folder", "", ""),
        ("m", "marker", '{"files": ["out-link/keep.txt", "out-link", "../outside/keep.txt", "a.jpg"]}', ""),
    ],
)
def test_a_run_into_a_folder_of_leftovers(model, root, first_run, entries):
    check_run(model, root, first_run, entries)


@pytest.mark.slow
@LONG
@given(first_run=st.booleans(), entries=leftovers)
def test_a_run_into_a_folder_of_leftovers_long(model, root, first_run, entries):
    check_run(model, root, first_run, entries)


def one_leftover(tmp_path, name, kind):
    """A results folder holding one entry ``name`` of ``kind`` (:func:`make`), a user's folder beside it, and a
    photo to predict; returns the results folder, the user's folder and the entry."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("the user's file")
    make(out, outside, [(name, kind, "", "")])
    photo(tmp_path / "a.jpg")
    return out, outside, out / name


@contextlib.contextmanager
def writer_after(pipe, seconds=5.0):
    """Should the run open the named pipe ``pipe`` to read, a writer ends the wait after ``seconds``, so that the
    test fails instead of waiting for ever; yields the list of those openings (empty: never opened)."""
    opened = []
    writer = threading.Timer(seconds, lambda: opened.append(open(pipe, "w").close()))
    writer.daemon = True
    writer.start()
    try:
        yield opened
    finally:
        writer.cancel()
        if writer.is_alive():  # waiting to open the pipe: a reader lets it go
            os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))


def watched(path, kind):
    """:func:`writer_after` on ``path`` when it is a pipe; nothing to watch otherwise."""
    return writer_after(path) if kind == "pipe" else contextlib.nullcontext([])


@pytest.mark.parametrize("kind", ["pipe", "folder", "link to a file outside"])
def test_a_lock_that_is_no_plain_file_is_refused_by_name(tmp_path, model, kind):
    # found by the fuzzer: a pipe named .keypoints.lock was read as the lock, which waited for a writer for ever
    out, outside, lock = one_leftover(tmp_path, atomic.LOCK_NAME, kind)
    with watched(lock, kind):
        with pytest.raises(OutputPathError, match=r"\.keypoints\.lock: .*, where the folder's lock file belongs"):
            predict_photos([tmp_path / "a.jpg"], model.model, out, workers=1)
    assert os.path.lexists(lock) and (outside / "keep.txt").read_text() == "the user's file"


@pytest.mark.parametrize("kind", ["pipe", "file", "link to the outside folder"])
def test_a_staging_name_that_is_no_folder_is_left_alone(tmp_path, model, kind):
    # found by the fuzzer: a pipe named .keypoints-run-old was opened by rmtree, which waited for ever
    out, outside, staged = one_leftover(tmp_path, atomic.STAGING_PREFIX + "old", kind)
    with watched(staged, kind) as opened:  # opened: the pipe had a reader, so the run opened it
        summary = predict_photos([tmp_path / "a.jpg"], model.model, out, workers=1)
    assert summary.exit_code == 0 and (out / "a.jpg").is_file()
    assert os.path.lexists(staged) and (outside / "keep.txt").read_text() == "the user's file"
    assert opened == []
