"""Seeded splits, by person when the people are known."""

import numpy as np
import pytest

from keypoints.data.splits import identities_path_for, load_identities, train_valid_split
from keypoints.errors import DataError


def test_group_split_puts_each_person_on_one_side():
    people = np.repeat([f"p{i}" for i in range(40)], np.arange(40) % 7 + 1)
    train, valid = train_valid_split(len(people), groups=people, valid_fraction=0.2, seed=3)
    assert set(people[train]).isdisjoint(people[valid])
    assert len(train) + len(valid) == len(people) and len(np.intersect1d(train, valid)) == 0
    assert len(set(people[valid])) == 8  # 20% of 40 people


def test_split_is_seeded():
    a = train_valid_split(100, seed=1)
    b = train_valid_split(100, seed=1)
    c = train_valid_split(100, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    assert len(a[1]) == 20


def test_identities_file_is_found_beside_the_data_and_checked(tmp_path):
    assert identities_path_for(tmp_path / "training.csv.gz") == tmp_path / "training_identities.csv"
    path = tmp_path / "training_identities.csv"
    path.write_text("identity\nann\nann\nbob\n")
    assert load_identities(path, n_rows=3).tolist() == ["ann", "ann", "bob"]
    with pytest.raises(DataError, match="3 identities for 4 data rows"):
        load_identities(path, n_rows=4)
    path.write_text("person\nann\n")
    with pytest.raises(DataError, match="no 'identity' column"):
        load_identities(path)


def test_a_split_needs_two_people():
    with pytest.raises(DataError, match="at least two people"):
        train_valid_split(5, groups=["a"] * 5)
