"""The real-face stand-in for the Kaggle training file, when KEYPOINTS_DATA_DIR holds it."""

import pytest

from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.splits import identities_path_for, load_identities, train_valid_split

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def stand_in(shared_training_csv):
    return load_kaggle_csv(shared_training_csv, use_cache=False)


def test_stand_in_has_3378_good_complete_rows_in_the_frame(stand_in):
    assert len(stand_in) == 3378
    assert stand_in.skipped == ()
    assert stand_in.columns == KEYPOINT_COLUMNS
    assert stand_in.complete.all()
    assert (stand_in.keypoints >= 0).all() and (stand_in.keypoints <= 96).all()
    assert stand_in.images.shape == (3378, 1, 96, 96)
    assert 60 < stand_in.images.mean() < 200  # real faces, not a blank file


def test_stand_in_splits_by_person(stand_in, shared_training_csv):
    people = load_identities(identities_path_for(shared_training_csv), n_rows=len(stand_in))
    assert len(set(people)) == 278
    train, valid = train_valid_split(len(stand_in), groups=people, valid_fraction=0.2, seed=0)
    assert set(people[train]).isdisjoint(people[valid])
    assert 0.1 < len(valid) / len(stand_in) < 0.3
