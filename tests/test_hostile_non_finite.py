"""Non-finite numbers are errors: options refused at parse time, a model that predicts NaN never gives results."""

import numpy as np
import pytest
from hostile import kaggle_test_csv, labelled_csv, lookup_csv, mean_model, photo

from keypoints.cli import main
from keypoints.errors import BrokenModelError
from keypoints.guards import MAX_SEED, check_finite_predictions
from keypoints.model.checkpoint import load_model


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--mirror-sum", "nan"], "argument --mirror-sum: 'nan' is not a finite number"),
        (["train", "--mirror-sum=-inf"], "argument --mirror-sum: '-inf' is not a finite number"),
        (["train", "--mirror-sum", "1e999"], "argument --mirror-sum: '1e999' is not a finite number"),
        (
            ["train", "--seed", "-1"],
            f"argument --seed: '-1' is out of range; a seed is a whole number from 0 to {MAX_SEED}",
        ),
        (["train", "--seed", str(2**64)], "argument --seed: '18446744073709551616' is out of range"),
        (["train", "--epochs", "0"], "argument --epochs: '0' is out of range: the number of epochs is a whole number"),
        (["train", "--nets", ""], "argument --nets: '' names nothing"),
        (["train", "--nets", " , "], "argument --nets: ' , ' names nothing"),
        (["synth", "x.csv", "--incomplete", "nan"], "argument --incomplete: 'nan' is not a finite number"),
        (["synth", "x.csv", "--incomplete", "1.5"], "argument --incomplete: '1.5' is not a fraction from 0 to 1"),
        (["synth", "x.csv", "-n", "-3"], "argument -n/--faces: '-3' is out of range: the number of faces"),
        (["explain", "x.jpg", "--stride", "0"], "argument --stride: '0' is out of range: a side in pixels"),
    ],
)
def test_bad_numbers_are_refused_at_parse_time(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory):
    return mean_model(tmp_path_factory.mktemp("model") / "nan.pt", nan=True)


def test_a_model_with_nan_weights_is_refused_on_load(nan_model):
    with pytest.raises(BrokenModelError, match=r"nan\.pt: 1 weight tensor\(s\) hold NaN or infinite values"):
        load_model(nan_model)


def test_predict_evaluate_and_submit_report_a_broken_model_and_write_nothing(nan_model, tmp_path, capsys):
    photo(tmp_path / "a.jpg")
    labelled = labelled_csv(tmp_path / "training.csv")
    test, lookup = kaggle_test_csv(tmp_path / "test.csv"), lookup_csv(tmp_path / "lookup.csv")
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "a.jpg"), "--model", str(nan_model), "--out", str(out)]) == 1
    assert main(["evaluate", "--data", str(labelled), "--model", str(nan_model)]) == 1
    submit = ["submit", "--test", str(test), "--lookup", str(lookup), "--model", str(nan_model)]
    assert main([*submit, "--out", str(out / "submission.csv")]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("hold NaN or infinite values") == 3 and "RMSE" not in captured.out
    assert not out.exists()


def test_finite_weights_that_predict_nan_are_caught_before_writing():
    check_finite_predictions(np.zeros((2, 30)), "m.pt")
    predicted = np.zeros((3, 30))
    predicted[1, 4] = np.nan
    with pytest.raises(BrokenModelError, match=r"m\.pt: the model predicts NaN or infinite keypoints \(1 of 3 faces\)"):
        check_finite_predictions(predicted, "m.pt")


def test_a_model_with_nan_weights_is_not_saved_over_a_good_one(tmp_path):
    from hostile import NETWORK_MEAN

    from keypoints.model.checkpoint import save_model
    from keypoints.networks.build import build_module

    good = mean_model(tmp_path / "net.pt")
    before = good.read_bytes()
    module = build_module(NETWORK_MEAN)
    for parameter in module.parameters():
        parameter.data.fill_(float("inf"))
    with pytest.raises(BrokenModelError, match=r"net\.pt: not written: 2 weight tensor\(s\) hold NaN or infinite"):
        save_model(good, NETWORK_MEAN, module, {})
    assert good.read_bytes() == before
