"""The per-face figures of the results files and page: reading order, units, the error as a share of the eye
distance, the pose, the numbers drawn on the photo, and the page's counts of photos, videos, frames and tracks."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from keypoints.predict.crops.crop import MEAN_KEYPOINTS
from keypoints.predict.outputs.face_figures import draw_numbers, face_figures, figures_html, numbered, reading_order
from keypoints.predict.outputs.files import results_document, results_table
from keypoints.predict.outputs.page import write_html


def face(x, y, side, error=2.0, score=0.9):
    points = MEAN_KEYPOINTS * side / 96 + np.array([x, y])
    return SimpleNamespace(box=(x, y, side, side), keypoints=points, score=score, error_px=error)


def test_reading_order_is_rows_from_the_top_each_from_the_left():
    boxes = [[300, 10, 50, 50], [10, 20, 40, 40], [100, 200, 60, 60], [20, 190, 50, 50], [500, 30, 200, 200]]
    # a row is the faces within half its first face's height: the 200-px face's row takes the two below it
    assert reading_order(boxes) == [1, 0, 3, 2, 4]
    assert reading_order(np.zeros((0, 4))) == []
    faces = [face(400, 50, 100), face(50, 60, 120)]
    assert [(n, f.box[0]) for n, f in numbered(faces)] == [(0, 50), (1, 400)]


def test_the_figures_carry_their_units_and_the_error_as_a_share_of_the_eye_distance():
    one = face(224, 144, 192, error=6.6)  # at the image centre, where a frontal face's yaw is 0
    figures = face_figures(one, (640, 480))
    assert figures["error_eye_share"] == np.float64(6.6 / np.linalg.norm(one.keypoints[0] - one.keypoints[1]))
    assert abs(figures["yaw"]) < 5 and abs(figures["roll"]) < 1 and "pitch" in figures
    html = figures_html(figures)
    assert html.startswith("<li>detector score 0.90 (0 to 1)</li><li>estimated keypoint error 6.6 px, 10% of")
    assert "the eye distance</li><li>head pose: yaw " in html and "°, pitch " in html and html.endswith("°</li>")
    haar = SimpleNamespace(box=one.box, keypoints=one.keypoints, score=float("nan"), error_px=float("nan"))
    assert "score" not in figures_html(face_figures(haar, (640, 480))) and "error" not in face_figures(haar, None)
    assert "yaw" not in face_figures(haar, None)  # no image size: no camera for the pose


def test_the_numbers_are_drawn_inside_each_box():
    image = np.zeros((200, 300, 3), np.uint8)
    draw_numbers(image, [[10, 10, 120, 120], [160, 20, 100, 100]], [0, 1])
    assert image[10:50, 10:50].max() == 255 and image[20:60, 160:200].max() == 255
    assert image[150:, :].max() == 0  # nothing below the boxes' tops


def results(tmp_path):
    photo = SimpleNamespace(
        path=Path("group.jpg"),
        faces=[face(400, 50, 100), face(50, 60, 120)],
        size=(640, 480),
        error=None,
        output=None,
        crops=None,
    )
    frame_face = SimpleNamespace(
        frame=0,
        time_s=0.0,
        track=1,
        face=0,
        box=(10, 10, 96, 96),
        keypoints=MEAN_KEYPOINTS + 10,
        score=0.8,
        error_px=1.5,
    )
    video = SimpleNamespace(
        path=Path("walk.avi"),
        faces=[frame_face] * 3,
        size=(320, 240),
        fps=25.0,
        frames=3,
        tracks=1,
        error=None,
        output=None,
        video=None,
    )
    return [photo, video]


def test_csv_json_and_page_share_the_reading_order_and_the_figures(tmp_path):
    done = results(tmp_path)
    table = results_table(done)
    photo_rows = table[table["file"] == "group.jpg"]
    assert photo_rows["face"].tolist() == [0, 1] and photo_rows["box_x"].tolist() == [50, 400]
    assert np.isfinite(table[["yaw", "pitch", "roll", "error_eye_share"]].to_numpy(dtype=float)).all()
    document = json.loads(json.dumps(results_document(done)))
    first = document["photos"][0]["faces"][0]
    assert first["face"] == 0 and first["box"]["x"] == 50 and {"yaw", "pitch", "roll", "error_eye_share"} <= set(first)
    frame_row = document["photos"][1]["faces"][0]
    assert frame_row["score"] == 0.8 and frame_row["error_px"] == 1.5  # every frame row carries its figures
    page = write_html(tmp_path / "index.html", done).read_text()
    assert '<h1 id="counts">1 photo, 2 faces; 1 video, 3 frames, 1 face track</h1>' in page
    assert page.index('data-face="0"') < page.index('data-face="1"')
    assert "px in the network's 96 x 96 px face crops" not in page  # no model said: no RMSE line
    about = {"valid_rmse_px": 1.47}
    assert "1.470 px in the network's 96 x 96 px face crops, on people it never saw" in (
        write_html(tmp_path / "index.html", done, about).read_text()
    )


def test_the_page_and_the_summary_name_every_source_and_the_convention(tmp_path):
    from keypoints.predict.outputs.files import model_line, model_summary

    card = {
        "network": "bnconv",
        "data": "training.csv.gz",
        "sources": [{"name": "training.csv.gz"}, {"name": "frames"}, {"name": "fgnet"}, {"name": "helen"}],
        "label_convention": "human (iBUG-68, eye centre: the centre of the eye's outline); moved by their measured "
        "offsets: training.csv.gz, frames, fgnet, helen",
    }
    about = model_summary(SimpleNamespace(path=Path("m/default.onnx"), card=card))
    assert about["sources"] == ["training.csv.gz", "frames", "fgnet", "helen"]
    assert model_line(about) == (
        "model default.onnx (bnconv), trained on training.csv.gz, frames, fgnet, helen; keypoints in the human "
        "(iBUG-68, eye centre: the centre of the eye's outline) convention"
    )
    page = write_html(tmp_path / "index.html", [], about).read_text()
    assert "<dt>trained on</dt><dd>training.csv.gz, frames, fgnet, helen</dd>" in page
    assert "<dt>keypoints in</dt><dd>human (iBUG-68, eye centre: the centre of the eye&#x27;s outline); moved" in page
    # a model of one CSV and no word of conventions (the twins of `make train`)
    older = model_summary(SimpleNamespace(path=Path("bnconv.pt"), card={"network": "bnconv", "data": "t.csv"}))
    assert model_line(older) == "model bnconv.pt (bnconv), trained on t.csv"
