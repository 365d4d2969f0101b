"""Results folders: never read back, holding one run's outputs, never mixed with the user's files, any name."""

import os
import shutil
import struct
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hostile import mean_model, photo

from keypoints import atomic
from keypoints.cli import main
from keypoints.errors import ImageError, OutputPathError
from keypoints.predict import predict_photos
from keypoints.predict.outputs import files as outputs
from keypoints.predict.outputs import page
from keypoints.predictor import to_bgr

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return mean_model(tmp_path_factory.mktemp("model") / "mean.pt")


def names_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))


def test_a_results_folder_inside_the_photos_is_never_read_by_the_next_run(tmp_path, model):
    (tmp_path / "in").mkdir()
    photo(tmp_path / "in" / "a.jpg")
    first = predict_photos([tmp_path / "in"], model, tmp_path / "in" / "run1")
    second = predict_photos([tmp_path / "in"], model, tmp_path / "in" / "run2")
    assert [r.path.name for r in first.results] == [r.path.name for r in second.results] == ["a.jpg"]
    assert len(pd.read_csv(tmp_path / "in" / "run2" / "keypoints.csv", keep_default_na=False)) == 0  # no face
    # named directly, a results folder or an annotated copy is said to be one, and not read
    summary = predict_photos([tmp_path / "in" / "run1", tmp_path / "in" / "a.jpg"], model, tmp_path / "run3")
    assert [r.error for r in summary.unreadable] == [
        f"{tmp_path / 'in' / 'run1'}: holds only the results of an earlier keypoints run (its .keypoints-results "
        "lists them), which are never read as photos; name the folder of the photos"
    ]
    assert [r.path.name for r in summary.read] == ["a.jpg"] and summary.exit_code == 1


def test_a_reused_results_folder_holds_only_the_last_runs_outputs(tmp_path, model):
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / "hopper.jpg")  # a face: a crop in faces/
    photo(tmp_path / "b.png")
    photo(tmp_path / "c.png")
    out = tmp_path / "out"
    predict_photos([tmp_path / "hopper.jpg", tmp_path / "b.png"], model, out, json=True)
    assert "faces/hopper-face0.jpg" in names_in(out)
    predict_photos([tmp_path / "b.png"], model, out)
    predict_photos([tmp_path / "c.png"], model, out)
    assert names_in(out) == [".keypoints-results", "c.jpg", "index.html", "keypoints.csv"]
    assert atomic.results_files(out) == {"c.jpg", "index.html", "keypoints.csv"}


def test_a_folder_keypoints_did_not_write_is_refused_and_left_as_it_was(tmp_path, model, capsys):
    photo(tmp_path / "a.jpg")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    (out / "thesis.pdf").write_bytes(b"%PDF")
    code = main(["predict", str(tmp_path / "a.jpg"), "--model", str(model), "--out", str(out)])
    assert code == 1 and names_in(out) == ["notes.txt", "thesis.pdf"]
    assert capsys.readouterr().err == (
        f"error: --out {out} holds 2 entries that no keypoints run wrote (notes.txt, thesis.pdf): the results would "
        "mix with them, and they are never removed. Choose a new or empty folder, or one an earlier `keypoints "
        "predict` wrote.\n"
    )


def test_a_file_added_to_a_results_folder_is_kept_and_named(tmp_path, model):
    photo(tmp_path / "a.jpg")
    out = tmp_path / "out"
    predict_photos([tmp_path / "a.jpg"], model, out)
    (out / "mine.txt").write_text("kept\n")
    with pytest.raises(OutputPathError, match=r"holds 1 entry that no keypoints run wrote \(mine\.txt\)"):
        predict_photos([tmp_path / "a.jpg"], model, out)
    assert (out / "mine.txt").read_text() == "kept\n"


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_an_out_that_is_a_broken_symbolic_link_is_named(tmp_path, model, capsys, kind):
    photo(tmp_path / "a.jpg")
    link = tmp_path / "out"
    if kind == "dangling":
        link.symlink_to(tmp_path / "gone")
        reason = f"a symbolic link to {tmp_path / 'gone'}, which does not exist"
    else:
        link.symlink_to(link)
        reason = "a symbolic link loop (its links lead back to themselves, never to a file)"
    assert main(["predict", str(tmp_path / "a.jpg"), "--model", str(model), "--out", str(link)]) == 1
    assert capsys.readouterr().err == (
        f"error: --out {link}: {link} is {reason}; point it at a folder, or choose another --out\n"
    )
    assert link.is_symlink() and not (tmp_path / "gone").exists()


def test_no_images_may_write_into_the_photos_folder_but_never_over_a_users_csv(tmp_path, model, capsys):
    photo(tmp_path / "a.jpg")
    args = ["predict", str(tmp_path), "--model", str(model), "--no-images", "--out", str(tmp_path)]
    assert main(args) == 0 and main(args) == 0  # the second run reads a.jpg only
    assert names_in(tmp_path) == [".keypoints-results", "a.jpg", "keypoints.csv"]
    labels = tmp_path / "labels"
    labels.mkdir()
    photo(labels / "b.jpg")
    (labels / "keypoints.csv").write_text("file,the true keypoints\n")
    capsys.readouterr()
    assert main([*args[:1], str(labels), *args[2:-1], str(labels)]) == 1
    assert (labels / "keypoints.csv").read_text() == "file,the true keypoints\n"
    assert capsys.readouterr().err == (
        f"error: --out {labels}: writing keypoints.csv there would replace a keypoints.csv that no keypoints run "
        "wrote; it is never overwritten. Choose another --out folder.\n"
    )


def test_file_names_that_a_spreadsheet_would_run_are_written_inert(tmp_path, model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = ["=HYPERLINK(1).jpg", "+1.jpg", "-2.jpg", "@SUM(A1).jpg", "plain.jpg"]
    for name in names:
        shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / name)  # a face each: one row each
    predict_photos(names, model, "out")
    table = pd.read_csv(tmp_path / "out" / "keypoints.csv")
    assert list(table["file"]) == ["'=HYPERLINK(1).jpg", "'+1.jpg", "'-2.jpg", "'@SUM(A1).jpg", "plain.jpg"]
    assert outputs.inert_cell("\tx") == "'\tx" and outputs.inert_cell("a=b") == "a=b"


def test_a_250_byte_photo_name_gets_a_short_output_name_and_the_others_are_kept(tmp_path, model):
    folder = tmp_path / "in"
    folder.mkdir()
    long_names = ["é" * 123 + ".jpg", "é" * 122 + "ab.jpg"]  # 250 bytes each, the same first 200
    for name in long_names:
        assert len(name.encode()) == 250
        shutil.copy(SAMPLES / "grace_hopper.jpg", folder / name)
    photo(folder / "short.jpg")
    summary = predict_photos([folder], model, tmp_path / "out")
    assert summary.exit_code == 0 and len(summary.read) == 3
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert max(len(p.name.encode()) for p in written) <= 255
    copies = sorted(r.output.name for r in summary.read)
    assert len(set(copies)) == 3 and "short.jpg" in copies
    shortened = [Path(n).stem for n in copies if n != "short.jpg"]
    assert all(len(s.encode()) <= 200 and s[-9] == "~" and s.startswith("é" * 95) for s in shortened)
    assert all(p.is_file() for r in summary.read for p in r.crops)


def huge_avi(path, side=12000):
    """A 6 KB MJPEG AVI whose headers and frames claim ``side`` x ``side`` pixels."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(3):
        writer.write(np.full((48, 64, 3), 100, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    start = data.find(b"avih") + 8 + 32
    data[start : start + 8] = struct.pack("<II", side, side)
    start = data.find(b"strf") + 12
    data[start : start + 8] = struct.pack("<ii", side, side)
    frame = data.find(b"\xff\xc0")
    while frame >= 0:
        data[frame + 5 : frame + 9] = struct.pack(">HH", side, side)
        frame = data.find(b"\xff\xc0", frame + 1)
    path.write_bytes(bytes(data))
    return path


def test_a_12000_pixel_video_is_refused_with_a_true_message_and_the_photos_kept(tmp_path, model):
    folder = tmp_path / "in"
    folder.mkdir()
    big = huge_avi(folder / "big.avi")
    assert cv2.VideoCapture(str(big)).get(cv2.CAP_PROP_FRAME_WIDTH) == 12000
    photo(folder / "a.jpg")
    summary = predict_photos([folder], model, tmp_path / "out")
    assert [r.error for r in summary.unreadable] == [
        f"{big}: its frames are 12000x12000 pixels, more than the 8191 pixels a side of a video may have here (the "
        "annotated MPEG-4 copy cannot be larger); scale it down first, e.g. `ffmpeg -i IN -vf scale=-2:2160 OUT.mp4`"
    ]
    assert [r.path.name for r in summary.read] == ["a.jpg"] and summary.exit_code == 1
    assert names_in(tmp_path / "out") == [".keypoints-results", "a.jpg", "index.html", "keypoints.csv"]


def test_a_predictor_array_over_the_photo_limit_is_refused_before_any_copy():
    huge = np.broadcast_to(np.uint8(0), (12000, 12000, 3))  # no memory behind it
    with pytest.raises(ImageError) as refused:
        to_bgr(huge)
    assert str(refused.value) == (
        "an array of shape (12000, 12000, 3) and dtype uint8: its image is 12000x12000 pixels (144 megapixels), "
        "more than the 100 megapixels a photo may have; scale it down first"
    )


def test_the_page_of_many_photos_is_split_and_a_smaller_run_removes_the_extra_pages(tmp_path, model, monkeypatch):
    monkeypatch.setattr(page, "PAGE_FILES", 2)
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(5):
        photo(folder / f"{k}.jpg")
    out = tmp_path / "out"
    predict_photos([folder], model, out)
    assert [n for n in names_in(out) if n.endswith(".html")] == ["index-2.html", "index-3.html", "index.html"]
    pages = [(out / n).read_text() for n in ("index.html", "index-2.html", "index-3.html")]
    assert [page.count('<section class="photo"') for page in pages] == [2, 2, 1]
    assert all("5 photos, 0 faces" in page for page in pages)
    assert (
        '<strong aria-current="page">1-2</strong> <a href="index-2.html">3-4</a> <a href="index-3.html">5</a>'
        in (pages[0])
    )
    assert 'id="photo-4"' in pages[2] and 'loading="lazy"' in pages[2]
    shutil.rmtree(folder)
    folder.mkdir()
    photo(folder / "only.jpg")
    predict_photos([folder], model, out)
    assert names_in(out) == [".keypoints-results", "index.html", "keypoints.csv", "only.jpg"]
    assert "<nav" not in (out / "index.html").read_text()


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_every_file_written_follows_the_umask(tmp_path, model, mask):
    photo(tmp_path / "a.jpg")
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / "hopper.jpg")
    old = os.umask(mask)
    try:
        predict_photos([tmp_path / "a.jpg", tmp_path / "hopper.jpg"], model, tmp_path / "out", json=True)
        model_copy = mean_model(tmp_path / "models" / "mean.pt")
        (tmp_path / "reports").mkdir()
        report = atomic.write_text(tmp_path / "reports" / "comparison.md", "# report\n")
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()] + [model_copy, report]
    assert len(files) >= 7
    assert {p.relative_to(tmp_path).as_posix(): oct(p.stat().st_mode & 0o777) for p in files} == {
        p.relative_to(tmp_path).as_posix(): oct(0o666 & ~mask) for p in files
    }
