"""Random lighting, blur, lost resolution, noise and JPEG: what each does to the pixels, and that labels stay put."""

import json
from dataclasses import asdict, replace

import cv2
import numpy as np
import pytest
import torch

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.synthetic import generate_faces
from keypoints.data.transforms import scale_keypoints
from keypoints.training.appearance import (
    Appearance,
    blur,
    change_appearance,
    draw_appearance,
    jpeg,
    jpeg_table,
    lose_resolution,
    relight,
)
from keypoints.training.batches import FaceBatches, FaceTensors
from keypoints.training.presets import PHOTO_APPEARANCE, recipe_for


@pytest.fixture(scope="module")
def faces():
    """Four synthetic faces: uint8 (4, 96, 96) and the same as float (4, 1, 96, 96) in [0, 1]."""
    images, _ = generate_faces(4, seed=3)
    return images[:, 0], torch.from_numpy(images).float() / 255


@pytest.mark.parametrize("quality", [15, 50, 90])
def test_jpeg_matches_opencvs_codec_within_half_a_grey_level(faces, quality):
    pixels, scaled = faces
    ours = jpeg(scaled, torch.full((4,), float(quality)))[:, 0].numpy() * 255
    for face, mine in zip(pixels, ours):
        _, encoded = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])
        theirs = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float64)
        lost = np.abs(theirs - face).mean()
        assert np.abs(mine - theirs).mean() < 0.5 < lost  # the codec lost far more than we differ from it


def test_jpeg_table_follows_the_ijg_scaling():
    table = jpeg_table(torch.tensor([50.0, 100.0, 10.0]))
    assert table[0, 0, 0] == 16 and table[0, 7, 7] == 99  # quality 50 is the standard's table
    assert (table[1] == 1).all()  # quality 100 quantises by 1
    assert table[2, 0, 0] == 80  # quality 10 scales by 5000 / 10 = 500 %


def test_quality_zero_and_sigma_zero_and_full_size_leave_faces_as_they_are(faces):
    _, scaled = faces
    assert torch.equal(jpeg(scaled, torch.zeros(4)), scaled)
    assert torch.allclose(blur(scaled, torch.tensor([0.0, 0.0, 0.0, 1.0]))[:3], scaled[:3], atol=1e-6)
    assert torch.equal(lose_resolution(scaled, torch.full((4,), 96.0)), scaled)


def test_blur_matches_opencvs_gaussian_away_from_the_edges(faces):
    pixels, scaled = faces
    ours = blur(scaled, torch.full((4,), 1.2))[:, 0].numpy() * 255
    theirs = np.stack([cv2.GaussianBlur(face.astype(np.float32), (9, 9), 1.2) for face in pixels])
    assert np.abs(ours - theirs)[:, 8:-8, 8:-8].max() < 0.05


def test_lost_resolution_removes_fine_detail_only_from_the_faces_shrunk(faces):
    _, scaled = faces
    out = lose_resolution(scaled, torch.tensor([34.0, 96.0, 60.0, 96.0]))

    def detail(x):
        return (x[..., 1:] - x[..., :-1]).abs().mean(dim=(1, 2, 3))

    assert detail(out)[0] < 0.8 * detail(scaled)[0] and detail(out)[2] < detail(scaled)[2]
    assert torch.equal(out[[1, 3]], scaled[[1, 3]])


def test_relighting_stays_in_range_and_changes_the_mean():
    images = torch.full((2, 1, 96, 96), 0.5)
    drawn = {
        "contrast": torch.tensor([1.0, 1.0]),
        "brightness": torch.tensor([0.1, 0.0]),
        "gamma": torch.tensor([1.0, 1.0]),
        "light": torch.tensor([0.0, 0.6]),
        "light_angle": torch.tensor([0.0, 0.0]),
    }
    out = relight(images, drawn)
    assert torch.allclose(out[0], torch.full((1, 96, 96), 0.6))
    assert out[1, 0, :, 0].max() < 0.5 < out[1, 0, :, -1].min()  # lit from the right
    assert out.min() >= 0 and out.max() <= 1


def test_draws_are_seeded_and_each_change_reaches_its_share():
    look = Appearance()
    first = draw_appearance(4000, torch.Generator().manual_seed(7), look)
    again = draw_appearance(4000, torch.Generator().manual_seed(7), look)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert abs(float((first["sigma"] > 0).float().mean()) - look.blur_share) < 0.03
    assert abs(float((first["quality"] > 0).float().mean()) - look.jpeg_share) < 0.03
    assert abs(float((first["size"] < 96).float().mean()) - look.small_share) < 0.03
    quality = first["quality"][first["quality"] > 0]
    assert quality.min() >= look.jpeg_quality[0] and quality.max() <= look.jpeg_quality[1]
    assert first["size"].min() >= round(look.smallest * 96) and first["sigma"].max() <= look.blur


def test_batches_with_appearance_keep_order_flips_jitter_and_labels_and_change_every_face():
    images, keypoints = generate_faces(20, seed=1)
    faces = FaceTensors(
        torch.from_numpy(images).float() / 255, torch.from_numpy(scale_keypoints(keypoints)), KEYPOINT_COLUMNS
    )
    options = dict(batch_size=8, shuffle=True, flip=True, seed=4, jitter=(10, 0.08, 2))
    plain = list(FaceBatches(faces, **options))
    looked = list(FaceBatches(faces, appearance=replace(PHOTO_APPEARANCE, contrast=0.3), **options))
    for (x_plain, y_plain), (x_looked, y_looked) in zip(plain, looked):
        assert torch.equal(y_plain, y_looked)
        assert x_looked.shape == x_plain.shape and 0 <= x_looked.min() and x_looked.max() <= 1
        assert ((x_looked - x_plain).abs().amax(dim=(1, 2, 3)) > 0.01).all()
    again = list(FaceBatches(faces, appearance=replace(PHOTO_APPEARANCE, contrast=0.3), **options))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(looked, again))


def test_change_appearance_keeps_a_batch_in_range_on_every_change():
    drawn = draw_appearance(64, torch.Generator().manual_seed(0), Appearance(blur_share=1, small_share=1, jpeg_share=1))
    out = change_appearance(torch.rand(64, 1, 96, 96), drawn, torch.Generator().manual_seed(0))
    assert out.shape == (64, 1, 96, 96) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


def test_the_full_twin_recipe_changes_appearance_and_its_card_is_json():
    recipe = recipe_for("bnconv", "full")
    assert recipe.appearance == PHOTO_APPEARANCE and recipe_for("bnconv").appearance is None
    stored = json.loads(json.dumps(asdict(recipe)))
    assert stored["appearance"]["jpeg_quality"] == list(PHOTO_APPEARANCE.jpeg_quality)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: changes the look of batches there")
def test_batches_on_a_gpu_look_as_on_the_cpu():
    images, keypoints = generate_faces(40, seed=1)
    faces = FaceTensors(
        torch.from_numpy(images).float() / 255, torch.from_numpy(scale_keypoints(keypoints)), KEYPOINT_COLUMNS
    )
    look = replace(PHOTO_APPEARANCE, noise_share=0.0)  # the noise comes from each device's own generator
    options = dict(batch_size=16, shuffle=True, flip=True, seed=2, jitter=(10, 0.08, 2), appearance=look)
    on_cpu = list(FaceBatches(faces, **options))
    on_gpu = list(FaceBatches(faces.to("cuda"), device="cuda", **options))
    for (x_cpu, y_cpu), (x_gpu, y_gpu) in zip(on_cpu, on_gpu):
        assert torch.allclose(y_gpu.cpu(), y_cpu, atol=1e-5)
        assert (x_gpu.cpu() - x_cpu).abs().mean() < 2e-3  # JPEG rounding may tip a few pixels by a grey level
