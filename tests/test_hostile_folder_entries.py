"""Entries of a searched folder that cannot be read (links to nothing, loops, named pipes) are named, not skipped."""

import os

import pytest
from hostile import photo

from keypoints.cli import main
from keypoints.predict.inputs.discover import describe_missing, find_photos

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


@pytest.fixture
def folder(tmp_path):
    """A photo, a link to a photo that went away, a link to a folder that went away, a link loop, a pipe named
    like a photo, a bare pipe, a link to a text file that went away and a text file."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photo(folder / "ok.jpg")
    (folder / "gone.jpg").symlink_to(tmp_path / "nowhere" / "gone.jpg")
    (folder / "more").symlink_to(tmp_path / "nowhere" / "more")
    (folder / "loop.png").symlink_to("loop.png")
    os.mkfifo(folder / "pipe.png")
    os.mkfifo(folder / "fifo")
    (folder / "notes.txt").symlink_to(tmp_path / "nowhere" / "notes.txt")
    (folder / "readme.txt").write_text("not a photo")
    return folder


def test_a_folder_search_names_what_it_cannot_read(folder):
    photos, missing = find_photos([folder])
    assert photos == [folder / "ok.jpg"]
    assert sorted(p.name for p in missing) == ["fifo", "gone.jpg", "loop.png", "more", "pipe.png"]
    reasons = {p.name: describe_missing(p) for p in missing}
    assert reasons["gone.jpg"].endswith(
        f"gone.jpg: a symbolic link to {folder.parent / 'nowhere' / 'gone.jpg'}, which does not exist"
    )
    assert reasons["loop.png"].endswith(
        "loop.png: a symbolic link loop (its links lead back to themselves, never to a file)"
    )
    assert reasons["pipe.png"].endswith("pipe.png: a named pipe (FIFO), not a file")


def test_predict_reports_them_as_failures_and_does_the_rest(folder, tmp_path, capsys):
    code = main(["predict", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    for name in ("gone.jpg", "more", "loop.png", "pipe.png", "fifo"):
        assert f"error: {folder / name}: " in err
    assert "notes.txt" not in err and "readme.txt" not in err
    assert (tmp_path / "out" / "ok.jpg").is_file()
