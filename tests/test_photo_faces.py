"""Training faces from labelled photos: cut as the predictor cuts them, cached, split by person across sources,
labels moved into the human convention when asked, and figures per source."""

import os
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from keypoints.data import conventions
from keypoints.data.prepared import TrainValidSplit
from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.errors import DataError
from keypoints.measure.labelled import labelled_face, read_identities
from keypoints.predict.crops.align import crop_for_landmarks, photo_to_aligned, reframe_on_keypoints
from keypoints.predict.crops.crop import MEAN_KEYPOINTS
from keypoints.predict.crops.framing import labels_in_convention, training_crops
from keypoints.predict.detect.base import Detections, FaceDetector
from keypoints.training.photo_faces import cut_labelled_faces
from keypoints.training.sources import HeldOut, held_out_people, per_source_scores, split_sources


class TruthDetector(FaceDetector):
    """Finds the face whose keypoints are written beside each photo's pixels (its five landmarks from them)."""

    name = "truth"
    min_score = 0.5

    def __init__(self, truths, missing=()):
        self.truths, self.missing, self.calls = truths, set(missing), 0

    def find(self, image):
        self.calls += 1
        key = int(image[0, 0, 0])  # each test photo carries its number in its first pixel
        if key in self.missing:
            return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))
        truth = self.truths[key]
        marks = np.stack([truth[1], truth[0], truth[10], truth[12], truth[11]])  # YuNet's order: right eye first
        low, high = truth.min(axis=0) - 20, truth.max(axis=0) + 20
        return Detections(np.array([[*low, *(high - low)]]), np.array([0.9]), marks[None])


def face_keypoints(scale, shift):
    return MEAN_KEYPOINTS * scale + np.asarray(shift)


def write_folder(root, name, truths, identities=None):
    folder = root / name
    folder.mkdir(parents=True)
    rows = []
    for key, truth in enumerate(truths):
        image = np.full((240, 320, 3), 90, np.uint8)
        if np.isfinite(truth[10]).all():
            cv2.circle(image, tuple(int(v) for v in truth[10]), 9, (200, 200, 200), -1)
        image[0, 0] = key
        cv2.imwrite(str(folder / f"p{key}.png"), image)
        rows.append([f"p{key}.png", *truth.reshape(-1)])
    pd.DataFrame(rows, columns=["file", *KEYPOINT_COLUMNS]).to_csv(folder / "keypoints.csv", index=False)
    if identities is not None:
        pd.DataFrame({"file": [r[0] for r in rows], "identity": identities}).to_csv(
            folder / "identities.csv", index=False
        )
    return folder


@pytest.fixture
def truths():
    return [face_keypoints(1.5, (60, 40)), face_keypoints(2.0, (80, 20)), face_keypoints(1.2, (150, 90))]


def test_each_face_gives_the_predictors_two_crops_with_its_keypoints_carried_in(tmp_path, truths):
    folder = write_folder(tmp_path, "mine", truths, identities=["ann", "ann", "bob"])
    faces = cut_labelled_faces(folder, detector=TruthDetector(truths), say=lambda *_: None)
    assert faces.images.shape == (6, 1, 96, 96) and faces.images.dtype == np.uint8
    assert faces.keypoints.shape == (6, 30)
    assert faces.framings.tolist() == ["detector", "keypoints"] * 3
    assert faces.identities.tolist() == ["ann", "ann", "ann", "ann", "bob", "bob"]
    # the first is the landmark framing the predictor's first pass cuts
    marks = TruthDetector(truths).find(cv2.imread(str(folder / "p0.png"))).landmarks[0]
    first = crop_for_landmarks(marks)
    np.testing.assert_allclose(faces.keypoints[0].reshape(15, 2), photo_to_aligned(truths[0], first), atol=1e-3)
    # the second is framed on the true keypoints at the first's angle: they land near the mean training keypoints
    reframed = faces.keypoints[1].reshape(15, 2)
    expected = photo_to_aligned(truths[0], reframe_on_keypoints(truths[0], first))
    np.testing.assert_allclose(reframed, expected, atol=1e-3)
    np.testing.assert_allclose(reframed, MEAN_KEYPOINTS, atol=0.5)
    # and the pixels are the predictor's cut: the bright disc sits under the nose tip in both crops
    for image, points in zip(faces.images, faces.keypoints.reshape(-1, 15, 2)):
        x, y = np.rint(points[10]).astype(int)
        assert image[0, y, x] > 150


def test_missed_faces_and_unreadable_photos_are_counted_per_folder(tmp_path, truths):
    folder = write_folder(tmp_path, "mine", truths)
    (folder / "p2.png").write_bytes(b"not a png")
    faces = cut_labelled_faces(folder, detector=TruthDetector(truths, missing={1}), say=lambda *_: None)
    assert faces.n_photos == 3 and faces.n_found == 1
    assert faces.missed == ["p1.png"]
    assert len(faces.unreadable) == 1 and faces.unreadable[0].startswith("p2.png: ")
    assert "1 of 3 labelled faces found" in faces.summary()
    assert "not found by the detector: 1 (p1.png)" in faces.summary()
    assert "unreadable: 1" in faces.summary()


def test_a_face_with_missing_keypoints_is_framed_on_the_present_ones_and_keeps_them_missing(tmp_path, truths):
    partial = truths[0].copy()
    partial[2:10] = np.nan  # five points kept, as MTFL gives them
    partial[13:] = np.nan
    empty = np.full_like(truths[1], np.nan)
    folder = write_folder(tmp_path, "mine", [partial, empty, truths[2]])
    faces = cut_labelled_faces(folder, detector=TruthDetector([truths[0], truths[1], truths[2]]), say=lambda *_: None)
    assert faces.files.tolist() == ["p0.png", "p2.png", "p2.png"]  # no re-framing on a partial face
    points = faces.keypoints[0].reshape(15, 2)
    assert np.isnan(points[2:10]).all() and np.isnan(points[13:]).all()
    full = cut_labelled_faces(
        write_folder(tmp_path, "full", truths[:1]), detector=TruthDetector(truths), say=lambda *_: None
    )
    np.testing.assert_allclose(points[[0, 1, 10, 11, 12]], full.keypoints[0].reshape(15, 2)[[0, 1, 10, 11, 12]])
    assert faces.unreadable == ["p1.png: every keypoint is missing in keypoints.csv (row 3)"]


def test_crops_are_cached_and_cut_again_when_a_photo_changes(tmp_path, truths):
    folder = write_folder(tmp_path, "mine", truths)
    detector = TruthDetector(truths)
    first = cut_labelled_faces(folder, detector=detector, say=lambda *_: None)
    calls = detector.calls
    again = cut_labelled_faces(folder, detector=detector, say=lambda *_: None)
    assert again.from_cache and not first.from_cache and detector.calls == calls
    np.testing.assert_array_equal(again.images, first.images)
    stat = (folder / "p0.png").stat()
    os.utime(folder / "p0.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not cut_labelled_faces(folder, detector=detector, say=lambda *_: None).from_cache
    assert detector.calls > calls


def test_a_folder_without_labels_is_refused_with_what_it_needs(tmp_path):
    with pytest.raises(DataError, match="no keypoints.csv; a labelled photo folder holds"):
        cut_labelled_faces(tmp_path, detector=TruthDetector([]))


def test_files_without_an_identity_are_their_own_people(tmp_path, truths):
    folder = write_folder(tmp_path, "mine", truths, identities=["ann", "ann", "bob"])
    pd.DataFrame({"file": ["p0.png"], "identity": ["ann"]}).to_csv(folder / "identities.csv", index=False)
    assert read_identities(folder, ["p0.png", "p1.png"]).tolist() == ["ann", "mine/p1.png"]


def test_the_labelled_face_is_the_detection_holding_the_keypoints_centre():
    truth = face_keypoints(1.0, (100, 100))
    found = Detections(np.array([[0.0, 0, 50, 50], [90, 90, 120, 120]]), np.array([0.9, 0.8]))
    assert labelled_face(found, truth) == 1
    assert labelled_face(found.take([0]), truth) is None


def test_the_labelled_face_of_partial_labels_is_found_by_the_present_keypoints():
    truth = face_keypoints(1.0, (100, 100))
    truth[2:10] = np.nan
    found = Detections(np.array([[0.0, 0, 50, 50], [90, 90, 120, 120]]), np.array([0.9, 0.8]))
    assert labelled_face(found, truth) == 1
    assert labelled_face(found, np.full((15, 2), np.nan)) is None


def test_the_nme_of_partial_labels_is_over_the_keypoints_they_hold():
    from keypoints.measure.metrics import nme

    truth = face_keypoints(1.0, (100, 100))
    guess = truth + [3.0, 4.0]  # 5 px off everywhere
    eyes = np.linalg.norm(truth[0] - truth[1])
    assert nme(guess, truth) == pytest.approx(5 / eyes)
    guess[2:10] += 100.0  # far off where the labels say nothing
    truth[2:10] = np.nan
    assert nme(guess, truth) == pytest.approx(5 / eyes)
    assert np.isnan(nme(guess, np.full((15, 2), np.nan)))


def test_an_lfw_identity_is_the_person_of_the_same_name_in_another_folder(tmp_path, truths):
    folder = write_folder(tmp_path, "mine", truths, identities=["lfw:Ann_Smith", "Ann_Smith", "net:7_0"])
    assert read_identities(folder, ["p0.png", "p1.png", "p2.png"]).tolist() == ["Ann_Smith", "Ann_Smith", "net:7_0"]


def test_known_sets_move_into_the_human_convention_by_their_offset_over_the_eye_distance():
    points = np.tile(MEAN_KEYPOINTS, (2, 1, 1))
    points[:, 1, 1] = points[:, 0, 1]  # a level eye line: the face's frame is the crop's
    eyes = np.linalg.norm(points[0, 0] - points[0, 1])
    moved = conventions.to_human_convention(points, "frames")
    np.testing.assert_allclose(moved, points - conventions.OFFSETS["frames"] * eyes, atol=1e-9)
    # the frames' nose tip sits below the human one: moved up by 0.088 of the eye distance
    assert moved[0, KEYPOINTS.index("nose_tip"), 1] < points[0, KEYPOINTS.index("nose_tip"), 1] - 0.08 * eyes
    # the pupil sits above the eye outline's centre in fgnet and helen: their eye centres move down
    for name in ("fgnet", "helen"):
        assert (conventions.OFFSETS[name][:2, 1] < -0.02).all()
    with pytest.raises(DataError, match=r"no measured offset for my_photos; the sets with one are fgnet, frames"):
        conventions.to_human_convention(points, "my_photos")
    with pytest.raises(DataError, match=r"\(N, 15, 2\)"):
        conventions.to_human_convention(np.zeros((3, 30)), "fgnet")


def test_an_offset_turns_with_the_face_and_keeps_missing_keypoints_missing():
    upright = np.tile(MEAN_KEYPOINTS, (1, 1, 1))
    upright[:, 1, 1] = upright[:, 0, 1]  # a level eye line
    turn = np.array([[0.0, -1.0], [1.0, 0.0]])  # a quarter turn: the eye line points down the image
    turned = upright @ turn.T
    offset = np.zeros((15, 2))
    offset[10] = (0.0, 0.1)  # the nose 0.1 eye distances "down" the face
    moves = conventions.offsets_in_crop(np.concatenate([upright, turned]), offset)
    eyes = np.linalg.norm(upright[0, 0] - upright[0, 1])
    np.testing.assert_allclose(moves[0, 10], (0.0, 0.1 * eyes), atol=1e-9)
    np.testing.assert_allclose(moves[1, 10], turn @ (0.0, 0.1 * eyes), atol=1e-9)
    # read back in each face's own frame, the moves are the offset again
    faces = np.concatenate([upright, turned])
    np.testing.assert_allclose(conventions.in_face_frame(moves, faces), np.stack([offset, offset]), atol=1e-12)
    partial = upright.copy()
    partial[0, 0] = np.nan  # a Kaggle row without its left eye centre
    moved = conventions.to_human_convention(partial, "frames")
    assert np.isnan(moved[0, 0]).all() and np.isfinite(moved[0, 1:]).all()


def test_labels_in_convention_move_by_the_offset_within_the_faces_crop():
    truth = face_keypoints(2.0, (40, 30))
    crop = reframe_on_keypoints(truth, crop_for_landmarks(truth[[1, 0, 10, 12, 11]]))
    offset = np.zeros((15, 2))
    offset[:, 1] = 0.05  # every keypoint 0.05 eye distances down the face
    moved = labels_in_convention(truth, crop, offset)
    in_crop, before = photo_to_aligned(moved, crop), photo_to_aligned(truth, crop)
    eyes = np.linalg.norm(before[0] - before[1])
    np.testing.assert_allclose(np.linalg.norm(in_crop - before, axis=1), 0.05 * eyes, rtol=1e-6)
    # a crop of side 192 px: one crop pixel is two photo pixels
    np.testing.assert_allclose(np.linalg.norm(moved - truth, axis=1), 0.05 * eyes * crop.side / 96, rtol=1e-6)


def test_training_crops_leave_out_a_reframing_the_predictor_would_not_keep():
    truth = face_keypoints(1.0, (100, 100))
    marks = truth[[1, 0, 10, 12, 11]] * 3 - 2 * truth.mean(axis=0)  # landmarks of a face 3x larger
    found = Detections(np.array([[0.0, 0, 10, 10]]), np.array([0.9]), marks[None])
    images, points = training_crops(np.zeros((300, 300), np.uint8), found, truth)
    assert images.shape == (1, 1, 96, 96) and points.shape == (1, 15, 2)


def source(name, people, value):
    n = len(people)
    return {
        "name": name,
        "images": np.full((n, 1, 96, 96), value, np.uint8),
        "keypoints": np.tile(MEAN_KEYPOINTS.reshape(-1), (n, 1)),
        "identities": np.array(people, dtype=object),
        "summary": f"{name}: {n} faces",
        "terms": "test",
        "sha256": name,
    }


def test_one_person_is_on_one_side_across_every_source():
    people = [f"p{k}" for k in range(20)]
    sources = [source("csv", people, 1), source("frames", people * 2, 2), source("fgnet", ["x", "y", "z"], 3)]
    split = split_sources(sources, valid_fraction=0.25, seed=3)
    assert len(split.train_images) + len(split.valid_images) == 63
    held = set(split.valid_identities)
    assert held and len(held) < 23
    for name, value in (("csv", 1), ("frames", 2), ("fgnet", 3)):
        valid_faces = (split.valid_images[:, 0, 0, 0] == value).sum()
        assert (split.valid_sources == name).sum() == valid_faces
    everyone = np.concatenate([s["identities"] for s in sources]).astype(str)
    train_people = set(everyone) - held
    assert not train_people & held
    assert "by person across 3 sources (23 people)" in split.split
    assert [s["name"] for s in split.sources] == ["csv", "frames", "fgnet"]


def test_given_held_out_people_are_the_validation_whatever_the_sources():
    people = [f"p{k}" for k in range(20)]
    sources = [source("csv", people, 1), source("extra", [f"q{k}" for k in range(30)] + ["p3"], 2)]
    split = split_sources(sources, held_out=HeldOut("theirs.pt", frozenset({"p3", "p7", "nobody"})))
    assert split.valid_identities == ("p3", "p7")
    assert (split.valid_sources == "extra").sum() == 1 and len(split.valid_images) == 3
    assert len(split.train_images) == 48 and "the people theirs.pt held out" in split.split
    with pytest.raises(DataError, match="held-out people are none of the 50 people"):
        split_sources(sources, held_out=HeldOut("theirs.pt", frozenset({"nobody"})))


def test_hold_out_reads_a_models_held_out_people_and_refuses_a_model_without(tmp_path, capsys):
    from hostile import mean_model

    from keypoints.cli import main
    from keypoints.model.checkpoint import load_model, save_model

    plain = mean_model(tmp_path / "plain.pt")
    with pytest.raises(DataError, match="plain.pt: its card names no held-out people"):
        held_out_people(plain)
    loaded = load_model(plain)
    named = save_model(tmp_path / "named.pt", loaded.network, loaded.module, {"valid_identities": ["ann", "bob"]})
    assert held_out_people(named) == ("named.pt", {"ann", "bob"})
    assert main(["train", "--hold-out", str(named), "--epochs", "1"]) == 1
    assert "--hold-out holds out a model's people in a run with --photos" in capsys.readouterr().err


def test_no_source_is_refused():
    with pytest.raises(DataError, match="give --data CSV files, --photos folders, or both"):
        split_sources([])


def test_scores_per_source_are_each_sources_own():
    truth = np.tile(MEAN_KEYPOINTS.reshape(-1), (3, 1))
    split = TrainValidSplit(
        source="x",
        sha256="",
        columns=KEYPOINT_COLUMNS,
        train_images=None,
        train_keypoints=None,
        valid_images=np.zeros((3, 1, 96, 96), np.uint8),
        valid_keypoints=truth,
        split="",
        valid_sources=np.array(["a", "b", "b"]),
    )
    predicted = truth.copy()
    predicted[1:, 0::2] += 3.0  # source b: every x 3 px off
    scores = per_source_scores(predicted, split)
    assert scores["a"] == {"faces": 1, "rmse_px": 0.0, "nme": 0.0}
    assert scores["b"]["faces"] == 2
    assert scores["b"]["rmse_px"] == pytest.approx(np.sqrt(4.5))
    eyes = np.linalg.norm(MEAN_KEYPOINTS[0] - MEAN_KEYPOINTS[1])
    assert scores["b"]["nme"] == pytest.approx(3.0 / eyes)
    assert per_source_scores(predicted, TrainValidSplit("x", "", KEYPOINT_COLUMNS, *[None] * 4, "")) == {}


@pytest.fixture
def small_labelled(shared_data_dir, tmp_path):
    """The first 24 photos of fgnet and helen, copied with their labels and people."""
    folders = []
    for name in ("fgnet", "helen"):
        origin = shared_data_dir / "labelled" / name
        if not origin.is_dir():
            pytest.skip(f"{origin} is not there")
        labels = pd.read_csv(origin / "keypoints.csv").head(24)
        people = pd.read_csv(origin / "identities.csv")
        folder = tmp_path / name
        folder.mkdir()
        labels.to_csv(folder / "keypoints.csv", index=False)
        people[people.file.isin(labels.file)].to_csv(folder / "identities.csv", index=False)
        for file in labels.file:
            shutil.copy(origin / file, folder / file)
        folders.append(folder)
    return folders


def test_real_photos_are_found_and_cut(small_labelled):
    for folder in small_labelled:
        faces = cut_labelled_faces(folder, say=lambda *_: None)
        assert faces.n_found >= 22, faces.summary()
        points = faces.keypoints.reshape(-1, len(KEYPOINTS), 2)
        # the crops frame the faces as the training faces are framed: keypoints near the mean ones
        assert np.median(np.linalg.norm(points - MEAN_KEYPOINTS, axis=2)) < 8


def test_train_on_photos_writes_its_own_report_and_a_card_that_names_the_held_out(small_labelled, tmp_path):
    from keypoints.cli import main
    from keypoints.model.checkpoint import load_model

    models, reports = tmp_path / "models", tmp_path / "reports"
    folders = [str(f) for f in small_labelled]
    code = main(
        ["train", "--photos", *folders, "--nets", "bnconv", "--epochs", "1", "--seeds", "1"]
        + ["--models-dir", str(models), "--reports-dir", str(reports), "--device", "cpu"]
    )
    assert code == 0
    assert not (reports / "comparison.md").exists()
    text = (reports / "photos.md").read_text()
    assert "by person across 2 sources" in text and "| `bnconv` | 0 | 1 of 1 |" in text
    card = load_model(models / "bnconv.pt").card
    assert [s["name"] for s in card["sources"]] == ["fgnet", "helen"]
    assert card["valid_identities"] and set(card["valid_per_source"]) <= {"fgnet", "helen"}
    assert "--photos fgnet helen" in card["command"] and "--move-labels" not in card["command"]
    # a user's folders are trained on their labels as drawn unless --move-labels names them
    assert card["label_convention"] == "keypoints as each source's labels are drawn"
    assert {s["convention"] for s in card["sources"]} == {"as drawn"}

    # evaluate-photos --split valid scores only the people the training held out
    from keypoints.measure.evaluation import held_out_files

    held = held_out_files(small_labelled[1], card)
    people = pd.read_csv(small_labelled[1] / "identities.csv")
    assert held == set(people[people.identity.isin(card["valid_identities"])].file)
    assert main(["evaluate-photos", *folders, "--split", "valid", "--model", str(models / "bnconv.pt")]) == 0


def test_move_labels_moves_only_the_sources_it_names_and_says_so_in_the_card():
    from keypoints.training.cards import _sources_card
    from keypoints.training.sources import MOVED, move_labels

    frames, mine = source("frames", ["ann", "bob"], 10), source("mine", ["cy"], 20)
    level = frames["keypoints"].reshape(-1, 15, 2)
    level[:, 1, 1] = level[:, 0, 1]  # a level eye line: the face's frame is the crop's
    frames["keypoints"] = level.reshape(len(level), -1)
    moved = [move_labels(s, {"frames"}) for s in (frames, mine)]
    assert [s["convention"] for s in moved] == [MOVED, "as drawn"]
    np.testing.assert_array_equal(moved[1]["keypoints"], mine["keypoints"])
    eyes = np.linalg.norm(level[0, 0] - level[0, 1])
    shift = moved[0]["keypoints"].reshape(-1, 15, 2) - frames["keypoints"].reshape(-1, 15, 2)
    np.testing.assert_allclose(shift[0], -conventions.OFFSETS["frames"] * eyes, atol=1e-9)
    card = _sources_card(split_sources(moved, valid_fraction=0.34, seed=0))
    assert card["label_convention"].startswith("human (iBUG-68, eye centre: the centre of the eye's outline)")
    assert card["label_convention"].endswith("moved by their measured offsets: frames; as drawn: mine")


def test_move_labels_refuses_a_set_without_an_offset_or_not_among_the_sources(tmp_path, capsys):
    from keypoints.cli import main
    from keypoints.training.sources import prepare_sources

    with pytest.raises(DataError, match="no measured offset for mine; the sets with one are fgnet, frames"):
        prepare_sources([], [tmp_path / "mine"], move=["mine"], say=lambda *_: None)
    with pytest.raises(DataError, match=r"--move-labels names helen, which is not among the sources \(mine\)"):
        prepare_sources([], [tmp_path / "mine"], move=["helen"], say=lambda *_: None)
    assert main(["train", "--move-labels", "frames", "--epochs", "1"]) == 1
    assert "--move-labels moves the labels of the sources of a run with --photos" in capsys.readouterr().err


def test_split_valid_needs_a_model_trained_on_photos(tmp_path, capsys):
    from keypoints.measure.evaluation import held_out_files

    with pytest.raises(DataError, match="names no held-out people"):
        held_out_files(tmp_path, {"network": "bnconv"})


@pytest.mark.slow
def test_a_run_on_a_csv_and_photos_scores_the_csvs_held_out_people(small_labelled, shared_training_csv, tmp_path):
    from keypoints.cli import main
    from keypoints.measure.evaluation import evaluate_csv
    from keypoints.model.checkpoint import load_model

    models = tmp_path / "models"
    code = main(
        ["train", "--data", str(shared_training_csv), "--photos", str(small_labelled[1]), "--nets", "bnconv"]
        + ["--epochs", "1", "--seeds", "1", "--models-dir", str(models), "--reports-dir", str(tmp_path / "r")]
    )
    assert code == 0
    model = load_model(models / "bnconv.pt")
    assert [s["name"] for s in model.card["sources"]] == [shared_training_csv.name, "helen"]
    figures = evaluate_csv(shared_training_csv, model, split="valid", say=lambda *_: None)
    people = pd.read_csv(shared_training_csv.parent / "training_identities.csv")["identity"]
    held = people.isin(model.card["valid_identities"])
    assert figures["n_faces"] == int(held.sum()) > 0
    assert figures["rmse"] == pytest.approx(
        model.card["valid_per_source"][shared_training_csv.name]["rmse_px"], rel=1e-4
    )
