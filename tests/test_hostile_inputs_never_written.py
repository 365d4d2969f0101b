"""Inputs are never written: no output replaces an input file, and earlier outputs are never read as inputs."""

import pytest
from hostile import kaggle_test_csv, lookup_csv, mean_model, photo

from keypoints.cli import main
from keypoints.errors import OutputPathError
from keypoints.predict import predict_photos


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return mean_model(tmp_path_factory.mktemp("model") / "mean.pt")


def test_out_in_the_photos_folder_never_replaces_the_photo(tmp_path, model, monkeypatch, capsys):
    me = photo(tmp_path / "me.jpg")
    before = me.read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "me.jpg", "--model", str(model), "--out", "."]) == 1
    assert me.read_bytes() == before
    message = capsys.readouterr().err
    assert "would replace the input photo" in message and "me.jpg" in message
    assert not (tmp_path / "keypoints.csv").exists()


def test_out_equal_to_the_searched_folder_is_refused_before_any_work(tmp_path, model):
    photo(tmp_path / "a.png")
    with pytest.raises(OutputPathError, match="is the folder of the photos"):
        predict_photos([tmp_path], model, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_out_inside_the_photos_folder_is_not_read_back(tmp_path, model):
    photo(tmp_path / "a.jpg")
    photo(tmp_path / "b.png")
    out = tmp_path / "results"
    first = predict_photos([tmp_path], model, out)
    second = predict_photos([tmp_path], model, out)
    assert [r.path.name for r in first.results] == [r.path.name for r in second.results] == ["a.jpg", "b.png"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".keypoints-results",
        "a.jpg",
        "b.jpg",
        "index.html",
        "keypoints.csv",
    ]


def test_out_above_the_photos_folder_is_a_folder_keypoints_did_not_write_so_it_is_refused(tmp_path, model, monkeypatch):
    (tmp_path / "photos").mkdir()
    photo(tmp_path / "photos" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputPathError) as refused:
        predict_photos(["photos"], model, ".")
    assert str(refused.value) == (
        "--out . holds 1 entry that no keypoints run wrote (photos): the results would mix with them, and they "
        "are never removed. Choose a new or empty folder, or one an earlier `keypoints predict` wrote."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_submit_refuses_an_out_that_is_an_input_or_a_folder_before_any_work(tmp_path, model, capsys):
    test = kaggle_test_csv(tmp_path / "test.csv")
    lookup = lookup_csv(tmp_path / "lookup.csv")
    before = test.read_bytes()
    args = ["submit", "--test", str(test), "--lookup", str(lookup), "--model", str(model), "--out"]
    assert main([*args, str(test)]) == 1
    assert "is the input file" in capsys.readouterr().err
    assert test.read_bytes() == before
    assert main([*args, str(tmp_path)]) == 1
    assert "a folder, not a file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lookup.csv", "test.csv"]  # no DIR.partial
    assert main([*args, str(tmp_path / "submission.csv")]) == 0
    assert (tmp_path / "submission.csv").read_text().splitlines()[0] == "RowId,Location"
