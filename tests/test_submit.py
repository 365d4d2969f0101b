"""`keypoints submit`: the Kaggle submission in the lookup table's order, clipped, with bad lookup rows named."""

import numpy as np
import pandas as pd
import pytest
import torch

from keypoints.cli import main
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.writer import write_kaggle_csv
from keypoints.errors import DataError
from keypoints.model.checkpoint import save_model
from keypoints.model.inference import predict_pixels
from keypoints.networks import Dense, Flatten
from keypoints.networks.build import Network, build_module
from keypoints.submit import write_submission

N_TEST = 1783
"""Images in the Kaggle test.csv, ImageIds 1..1783."""


@pytest.fixture(scope="module")
def kaggle_like(tmp_path_factory):
    """A test.csv with ImageIds 1..1783 (random pixels: only the layout matters here), and a model."""
    folder = tmp_path_factory.mktemp("submit")
    images = np.random.default_rng(0).integers(0, 256, (N_TEST, 1, 96, 96), dtype=np.uint8)
    test_csv = write_kaggle_csv(folder / "test.csv", images)
    torch.manual_seed(0)
    network = Network("linear", "a linear map of the pixels", (Flatten(), Dense(30)))
    module = build_module(network)
    with torch.no_grad():
        module[1].weight.mul_(5)
        module[1].bias.copy_(torch.linspace(-1.6, 1.6, 30))  # some keypoints beyond the frame, to be clipped
    model = save_model(folder / "linear.pt", network, module, {})
    expected = predict_pixels(module.eval(), images)  # (1783, 30), unclipped
    assert (expected < 0).any() and (expected > 96).any()
    return folder, images, test_csv, model, expected


def write_lookup(path, rows):
    pd.DataFrame(rows, columns=["RowId", "ImageId", "FeatureName"]).assign(Location="").to_csv(path, index=False)
    return path


def test_submission_follows_the_lookup_order_and_clips_to_the_frame(kaggle_like, tmp_path):
    _, _, test_csv, model, expected = kaggle_like
    rows = [
        (1, 1783, "nose_tip_x"),
        (2, 5, "left_eye_center_y"),
        (3, 5, "nose_tip_x"),
        (4, 1, "mouth_center_bottom_lip_y"),
    ]
    lookup = write_lookup(tmp_path / "lookup.csv", rows)
    done = write_submission(test_csv, lookup, model, tmp_path / "out" / "submission.csv")
    assert done.rows == 4 and done.images == 3
    written = pd.read_csv(done.path)
    assert list(written.columns) == ["RowId", "Location"] and list(written.RowId) == [1, 2, 3, 4]
    want = [np.clip(expected[image - 1, KEYPOINT_COLUMNS.index(feature)], 0, 96) for _, image, feature in rows]
    np.testing.assert_allclose(written.Location, want, atol=1e-4)
    assert not (tmp_path / "out" / "submission.csv.partial").exists()


def test_image_ids_are_matched_by_id_not_by_position(tmp_path, kaggle_like):
    _, images, _, model, expected = kaggle_like
    test_csv = write_kaggle_csv(tmp_path / "test.csv", images[:3], image_ids=[30, 10, 20])
    lookup = write_lookup(tmp_path / "lookup.csv", [(7, 20, "nose_tip_y"), (8, 30, "nose_tip_y")])
    done = write_submission(test_csv, lookup, model, tmp_path / "s.csv")
    got = pd.read_csv(done.path)
    nose_y = KEYPOINT_COLUMNS.index("nose_tip_y")
    np.testing.assert_allclose(got.Location, np.clip([expected[2, nose_y], expected[0, nose_y]], 0, 96), atol=1e-4)
    assert list(got.RowId) == [7, 8]


def test_bad_lookup_rows_are_each_named_and_nothing_is_written(kaggle_like, tmp_path, capsys):
    _, _, test_csv, model, _ = kaggle_like
    lookup = write_lookup(
        tmp_path / "IdLookupTable.csv",
        [
            (1, 1, "nose_tip_x"),
            (2, 1784, "nose_tip_x"),  # line 3: no such image
            (3, 2, "nose"),  # line 4: no such feature
            ("x", 2, "nose_tip_y"),  # line 5: RowId not a number
            (3, 3, "nose_tip_y"),  # line 6: RowId repeated
            (6, "", "nose_tip_y"),  # line 7: no ImageId
        ],
    )
    out = tmp_path / "submission.csv"
    code = main(["submit", "--test", str(test_csv), "--lookup", str(lookup), "--model", str(model), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert f"error: {lookup}: 5 of 6 lookup rows cannot be answered:" in err
    assert "line 3: ImageId 1784 is not in the test file (its ImageIds run from 1 to 1783, 1783 images)" in err
    assert "line 4: FeatureName 'nose' is not a keypoint this model predicts (it predicts left_eye_center_x," in err
    assert "line 5: RowId 'x' is not a whole number" in err
    assert "line 6: RowId 3 appears earlier in the file; every RowId must be unique" in err
    assert "line 7: ImageId '' is not a whole number" in err
    assert "nothing was written" in err


def test_a_lookup_table_without_its_columns_is_refused(kaggle_like, tmp_path):
    _, _, test_csv, model, _ = kaggle_like
    lookup = tmp_path / "lookup.csv"
    lookup.write_text("RowId,Image,FeatureName\n1,1,nose_tip_x\n")
    with pytest.raises(DataError, match=r"lookup.csv, line 1 \(header\): no column 'ImageId'"):
        write_submission(test_csv, lookup, model, tmp_path / "s.csv")
    with pytest.raises(DataError, match=r"gone.csv: no such file. Pass the Kaggle IdLookupTable.csv"):
        write_submission(test_csv, tmp_path / "gone.csv", model, tmp_path / "s.csv")


def test_a_training_file_is_not_a_test_file(kaggle_like, tmp_path):
    _, images, _, model, _ = kaggle_like
    training = write_kaggle_csv(tmp_path / "training.csv", images[:2], np.full((2, 30), 40.0))
    lookup = write_lookup(tmp_path / "lookup.csv", [(1, 1, "nose_tip_x")])
    with pytest.raises(DataError, match=r"training.csv: no ImageId column; the Kaggle test.csv has ImageId,Image"):
        write_submission(training, lookup, model, tmp_path / "s.csv")


def test_the_real_lookup_table_gives_the_sample_submissions_rows(kaggle_like, shared_data_dir, tmp_path, capsys):
    _, _, test_csv, model, expected = kaggle_like
    kaggle = shared_data_dir / "kaggle"
    if not (kaggle / "IdLookupTable.csv").is_file():
        pytest.skip(f"{kaggle / 'IdLookupTable.csv'} is not there")
    out = tmp_path / "submission.csv"
    code = main(
        [
            "submit",
            "--test",
            str(test_csv),
            "--lookup",
            str(kaggle / "IdLookupTable.csv"),
            "--model",
            str(model),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert f"wrote 27124 rows for 1783 images to {out}" in capsys.readouterr().out
    written = pd.read_csv(out)
    sample = pd.read_csv(kaggle / "SampleSubmission.csv")
    lookup = pd.read_csv(kaggle / "IdLookupTable.csv")
    assert len(written) == 27124 and list(written.columns) == list(sample.columns)
    assert (written.RowId.to_numpy() == sample.RowId.to_numpy()).all()
    assert written.Location.between(0, 96).all()
    want = np.clip(expected[lookup.ImageId - 1, [KEYPOINT_COLUMNS.index(f) for f in lookup.FeatureName]], 0, 96)
    np.testing.assert_allclose(written.Location, want, atol=1e-4)
