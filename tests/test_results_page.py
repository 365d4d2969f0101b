"""The results page in a real browser, and results.json: one numbering, links that resolve, a schema."""

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints.cli import main
from keypoints.data.schema import KEYPOINTS
from keypoints.predict.outputs.files import FACE_SIDE, face_crop

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """``keypoints predict --json`` on the samples and an unreadable file, with the shipped model."""
    photos = tmp_path_factory.mktemp("photos")
    for name in ("grace_hopper.jpg", "astronaut.png"):
        shutil.copy(SAMPLES / name, photos / name)
    cv2.imwrite(str(photos / "blank wall.png"), np.full((200, 300, 3), 180, np.uint8))
    (photos / "notes.jpg").write_text("not a photo\n")
    out = tmp_path_factory.mktemp("results")
    assert main(["predict", str(photos), "--json", "--out", str(out)]) == 1  # notes.jpg cannot be read
    return photos, out


def test_results_json_follows_its_schema_and_the_csv_numbering(results):
    photos, out = results
    document = json.loads((out / "results.json").read_text())
    assert (document["format"], document["version"]) == ("keypoints-results", 1)
    assert document["model"]["network"] == "bnconv" and document["model"]["valid_rmse_px"] > 0
    by_name = {Path(p["path"]).name: p for p in document["photos"]}
    assert sorted(by_name) == ["astronaut.png", "blank wall.png", "grace_hopper.jpg", "notes.jpg"]
    assert "not an image" in by_name["notes.jpg"]["error"] and by_name["notes.jpg"]["faces"] == []
    assert by_name["blank wall.png"]["faces"] == [] and by_name["blank wall.png"]["error"] is None
    hopper = by_name["grace_hopper.jpg"]
    assert (hopper["width"], hopper["height"], hopper["annotated"]) == (512, 600, "grace_hopper.jpg")
    table = pd.read_csv(out / "keypoints.csv")
    rows = 0
    for photo in document["photos"]:
        for number, face in enumerate(photo["faces"]):
            assert face["face"] == number and set(face["box"]) == {"x", "y", "w", "h"}
            assert list(face["keypoints"]) == list(KEYPOINTS)
            row = table[(table["file"] == photo["path"]) & (table["face"] == number)]
            assert len(row) == 1 and row["box_w"].item() == face["box"]["w"]
            assert row["nose_tip_x"].item() == pytest.approx(face["keypoints"]["nose_tip"]["x"], abs=0.006)
            rows += 1
    assert rows == len(table) >= 1


def test_no_images_writes_data_only(tmp_path):
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / "a.jpg")
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "a.jpg"), "--no-images", "--json", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".keypoints-results", "keypoints.csv", "results.json"]
    assert json.loads((out / "results.json").read_text())["photos"][0]["annotated"] is None


def test_a_face_crop_puts_the_keypoints_where_the_photo_has_them():
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[147:153, 97:103] = 255  # a white square centred on (99.5, 149.5), the centre of the box below
    crop = face_crop(photo, (60, 110, 80, 80), np.full((15, 2), np.nan))
    assert crop.shape == (FACE_SIDE, FACE_SIDE, 3)
    ys, xs = np.nonzero(crop[:, :, 0] > 200)
    assert abs(xs.mean() - (FACE_SIDE - 1) / 2) < 0.5 and abs(ys.mean() - (FACE_SIDE - 1) / 2) < 0.5
    # keypoints on that centre are drawn at the crop's centre (the last drawn, a mouth point, is red)
    dots = face_crop(np.zeros_like(photo), (60, 110, 80, 80), np.full((15, 2), [99.5, 149.5]))
    assert tuple(dots[127, 127]) == (80, 60, 255) and not dots[100, 100].any()
    # beyond the photo's edge the crop is grey
    edge = face_crop(photo, (0, 0, 80, 80), np.zeros((15, 2)))
    assert (edge[2, 2] == 96).all()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.faces, self.links, self.sections = 0, [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.faces += tag == "article" and attrs.get("class") == "face"
        self.sections += tag == "section" and attrs.get("class") == "photo"
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])


def _chromium(*args, user_data):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={user_data}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_page_renders_in_chromium_with_one_card_per_face_and_links_that_resolve(results, tmp_path):
    photos, out = results
    page = (out / "index.html").resolve()
    dom = _chromium("--dump-dom", page.as_uri(), user_data=tmp_path / "profile1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Links()
    parsed.feed(dom.stdout)
    assert parsed.faces == len(pd.read_csv(out / "keypoints.csv")) >= 1
    assert parsed.sections == 3  # the photos read; notes.jpg is listed as unreadable
    assert "1 file could not be read" in dom.stdout and "No face found" in dom.stdout
    for link in parsed.links:
        target = urlparse(link)
        assert not target.scheme and not target.netloc, link  # nothing leaves the folder's neighbourhood
        assert (out / unquote(target.path)).resolve().is_file(), link
    assert {"keypoints.csv", "results.json"} <= set(parsed.links)
    assert sum(link.startswith("faces/") for link in parsed.links) == parsed.faces
    originals = [link for link in parsed.links if "grace_hopper.jpg" in link and link.startswith("..")]
    assert originals and (out / unquote(originals[0])).resolve() == (photos / "grace_hopper.jpg").resolve()

    shot = tmp_path / "page.png"
    taken = _chromium("--window-size=1200,1600", f"--screenshot={shot}", page.as_uri(), user_data=tmp_path / "p2")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    image = cv2.imread(str(shot))
    assert image.shape == (1600, 1200, 3)
    not_white = (image < 240).any(axis=2).mean()
    assert not_white > 0.1 and image.std() > 30  # photos and text, not an empty page
