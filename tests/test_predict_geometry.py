"""The predictor's pieces without a network: framing, the exact map back to photo pixels, detection, reading."""

import struct

import cv2
import numpy as np
import pytest

from keypoints.data.schema import KEYPOINTS
from keypoints.data.synthetic import generate_faces
from keypoints.errors import ImageError
from keypoints.predict.crops import crop as framing
from keypoints.predict.crops.crop import (
    MEAN_KEYPOINTS,
    Crop,
    clip_to_crop,
    crop_for_box,
    crop_for_keypoints,
    cut_faces,
    refine_ok,
    to_crop,
    to_photo,
)
from keypoints.predict.detect import HaarDetector
from keypoints.predict.inputs.discover import find_photos
from keypoints.predict.inputs.read import read_photo
from keypoints.predict.outputs.draw import PART_COLOURS, draw_faces, part_of


def _blob(shape, centre, sigma):
    """A float Gaussian spot (H, W) centred on ``centre`` in pixel-centre coordinates."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    return np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma**2))


def _centroid(image):
    ys, xs = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float64)
    weights = image.astype(np.float64)
    return np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()


def test_to_photo_is_exact_on_a_known_transform():
    crop = Crop(10, 20, 192)  # 2 photo px per crop px
    points = np.array([[0.0, 0.0], [47.5, 47.5], [95.0, 95.0], [-0.5, -0.5]])
    # crop pixel u covers photo pixels 10 + 2u and 11 + 2u, centred on 10.5 + 2u
    np.testing.assert_allclose(to_photo(points, crop), [[10.5, 20.5], [105.5, 115.5], [200.5, 210.5], [9.5, 19.5]])
    np.testing.assert_allclose(to_crop(to_photo(points, crop), crop), points, atol=1e-12)
    np.testing.assert_allclose(to_photo(points, Crop(0, 0, 96)), points)


@pytest.mark.parametrize("side", [192, 150, 96, 60])
def test_a_spot_cut_out_maps_back_to_where_it_was(side):
    # what cut_faces does to pixels and what to_photo does to coordinates must agree
    photo_centre = np.array([123.3, 141.7])
    photo = (255 * _blob((300, 300), photo_centre, sigma=side / 20)).astype(np.uint8)
    crop = Crop(80, 90, side)
    face = cut_faces(photo, [crop])[0, 0]
    assert face.shape == (96, 96)
    found = to_photo(_centroid(face), crop)
    np.testing.assert_allclose(found, photo_centre, atol=0.05 * side / 96 + 0.02)


def test_cut_faces_pads_outside_the_photo_with_the_edge():
    photo = np.tile(np.arange(50, dtype=np.uint8), (40, 1))  # (40, 50): x as the gray level
    face = cut_faces(photo, [Crop(-48, 0, 96)])[0, 0]
    assert (face[:, :48] == 0).all()  # the left half lies left of the photo: column 0 repeated
    np.testing.assert_array_equal(face[0, 48:], np.arange(48))
    # wholly outside (a box at the edge, rounded): the nearest edge pixel everywhere, never an error
    assert (cut_faces(photo, [Crop(100, 0, 20)]) == 49).all()


def test_first_crop_is_the_box_scaled_by_the_measured_margin():
    crop = crop_for_box((100, 200, 100, 100))
    assert crop.side == round(framing.CROP_SCALE * 100)
    centre = np.array([crop.x0 - 0.5 + crop.side / 2, crop.y0 - 0.5 + crop.side / 2])
    expected = np.array([149.5 + framing.CROP_SHIFT_X * 100, 249.5 + framing.CROP_SHIFT_Y * 100])
    np.testing.assert_allclose(centre, expected, atol=0.5)


def test_crop_for_keypoints_recovers_the_crop_that_framed_them():
    for crop in (Crop(13, -7, 211), Crop(400, 300, 50)):
        keypoints = to_photo(MEAN_KEYPOINTS, crop)
        assert crop_for_keypoints(keypoints) == crop


def test_refined_crops_that_jump_are_refused():
    first = Crop(100, 100, 100)
    assert refine_ok(first, Crop(95, 104, 110))
    assert not refine_ok(first, Crop(100, 100, 300))  # three times the face: not this face
    assert not refine_ok(first, Crop(160, 100, 100))  # moved by more than half its side


def test_keypoints_are_clipped_to_the_face_square():
    points = np.array([[0.0, 500.0], [120.0, 130.0]])
    np.testing.assert_allclose(clip_to_crop(points, Crop(100, 100, 96)), [[99.5, 195.5], [120.0, 130.0]])


def _paste(canvas, face, x, y, side):
    """Paste a 96x96 gray face at (x, y), resized to ``side``; returns where its pixel grid maps."""
    canvas[y : y + side, x : x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_LINEAR)[..., None]
    return Crop(x, y, side)


def test_detector_searches_a_large_photo_on_a_reduced_copy():
    faces, _ = generate_faces(1, seed=3)
    photo = np.full((2000, 3000, 3), 110, np.uint8)
    _paste(photo, faces[0, 0], 1700, 900, 400)
    detector = HaarDetector()
    boxes = detector.detect(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)).boxes
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    # in the photo's pixels (the reduced copy is 1280 px wide, where the face is 171 px)
    assert w == h and 300 < w < 520
    assert abs(x + w / 2 - 1900) < 40 and abs(y + h / 2 - 1100) < 40


def test_part_colours():
    assert [part_of(n) for n in ("left_eye_center", "left_eyebrow_inner_end", "nose_tip", "mouth_left_corner")] == [
        "eye",
        "eyebrow",
        "nose",
        "mouth",
    ]


def test_draw_colours_keypoints_by_part_and_draws_the_box():
    image = np.zeros((200, 200, 3), np.uint8)
    points = to_photo(MEAN_KEYPOINTS, Crop(50, 50, 96))
    draw_faces(image, np.array([[50, 50, 96, 96]]), points[None])
    for name, (x, y) in zip(KEYPOINTS, points):
        assert tuple(image[int(round(y)), int(round(x))]) == PART_COLOURS[part_of(name)], name
    assert image[50, 100].any() and image[145, 100].any()  # top and bottom edges of the box


# --- reading ------------------------------------------------------------------


def _with_exif_orientation(jpeg, orientation):
    """A JPEG's bytes with an EXIF block carrying only the orientation tag."""
    tiff = (
        b"II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<H", 1)
        + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
        + struct.pack("<I", 0)
    )
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_read_applies_exif_orientation(tmp_path):
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = 255  # white left half, 80 wide and 40 high
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_with_exif_orientation(jpeg, 6))  # 6: turn 90 degrees clockwise to view
    read = read_photo(path)
    assert read.shape == (80, 40, 3)
    assert read[:30].mean() > 200 and read[50:].mean() < 50  # the white half is now on top


@pytest.mark.parametrize("kind", ["gray", "rgba", "16-bit", "16-bit-tiff", "bmp", "webp"])
def test_read_gives_8bit_bgr_for_any_kind(tmp_path, kind):
    gray = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))
    name, image = {
        "gray": ("a.png", gray),
        "rgba": ("a.png", cv2.merge([gray, gray, gray, np.full_like(gray, 128)])),
        "16-bit": ("a.png", gray.astype(np.uint16) * 257),
        "16-bit-tiff": ("a.tif", cv2.merge([gray, gray, gray]).astype(np.uint16) * 257),
        "bmp": ("a.bmp", cv2.merge([gray, gray, gray])),
        "webp": ("a.webp", cv2.merge([gray, gray, gray])),
    }[kind]
    assert cv2.imwrite(str(tmp_path / name), image, [cv2.IMWRITE_WEBP_QUALITY, 101])
    read = read_photo(tmp_path / name)
    assert read.shape == (48, 64, 3) and read.dtype == np.uint8
    np.testing.assert_allclose(read[..., 1].astype(float), gray, atol=2)


def test_read_errors_name_the_file_and_the_problem(tmp_path):
    good = cv2.imencode(".jpg", np.full((64, 64, 3), 90, np.uint8))[1].tobytes()
    cases = {
        "empty.jpg": (b"", "empty file"),
        "notes.jpg": (b"shopping list: eggs\n", "not an image"),
        "cut.jpg": (good[: len(good) * 2 // 3], "a JPEG file that cannot be decoded: truncated or damaged"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageError, match=message) as error:
            read_photo(tmp_path / name)
        assert str(error.value).startswith(f"{tmp_path / name}: ")
    with pytest.raises(ImageError, match="no such file"):
        read_photo(tmp_path / "gone.jpg")


def test_find_photos_in_files_and_folders(tmp_path):
    for name in ("a/1.jpg", "a/b/2.PNG", "a/.hidden/3.jpg", "a/._4.jpg", "a/notes.txt", "a/results/5.jpg", "c.gif"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    photos, missing = find_photos(
        [tmp_path / "a", tmp_path / "c.gif", tmp_path / "a/1.jpg", tmp_path / "nope"], exclude=[tmp_path / "a/results"]
    )
    # a file named directly is taken whatever its suffix; each photo once
    assert photos == [tmp_path / "a/1.jpg", tmp_path / "a/b/2.PNG", tmp_path / "c.gif"]
    assert missing == [tmp_path / "nope"]


def test_overlapping_boxes_of_one_face_become_one():
    from keypoints.predict.detect import drop_overlaps

    boxes = np.array([[195, 147, 129, 129], [242, 152, 119, 119], [400, 150, 100, 100], [480, 150, 100, 100]])
    # the second is 66 % inside the first (the cascade's double report); the last two touch by 20 %
    np.testing.assert_array_equal(drop_overlaps(boxes), boxes[[0, 2, 3]])


def test_faces_30_px_wide_are_found_in_an_ordinary_photo():
    # small photos are searched enlarged (up to 2x), below the cascade's own 24-px window
    faces, _ = generate_faces(6, seed=3)
    detector = HaarDetector()
    for face in faces[[1, 2, 3, 5], 0]:
        photo = np.full((480, 640), 140, np.uint8)
        photo[200:230, 300:330] = cv2.resize(face, (30, 30), interpolation=cv2.INTER_AREA)
        boxes = detector.detect(photo).boxes
        assert len(boxes) == 1 and abs(boxes[0][0] + boxes[0][2] / 2 - 315) < 4 and 24 <= boxes[0][2] <= 40


def test_boxes_under_20_photo_pixels_are_dropped():
    faces, _ = generate_faces(6, seed=3)
    photo = np.full((480, 640), 140, np.uint8)
    photo[200:217, 300:317] = cv2.resize(faces[1, 0], (17, 17), interpolation=cv2.INTER_AREA)
    # searched at 2x, the cascade finds this face as a 15-px box, under MIN_FACE_PHOTO
    assert len(HaarDetector().detect(photo)) == 0
    assert len(HaarDetector(min_face=0).detect(photo)) == 1
