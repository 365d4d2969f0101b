"""Column re-ordering and problem lists: one helper each, used across the package."""

import numpy as np
import pytest

from keypoints.data.schema import KEYPOINT_COLUMNS, column_indices
from keypoints.errors import KeypointsError, problem_lines


def test_column_indices_reorder_columns_into_the_wanted_order():
    columns = ("nose_tip_y", "nose_tip_x", "left_eye_center_x", "left_eye_center_y")
    values = np.array([[1.0, 2.0, 3.0, 4.0]])
    index = column_indices(columns, ("left_eye_center_x", "left_eye_center_y", "nose_tip_x", "nose_tip_y"))
    assert index == [2, 3, 1, 0]
    np.testing.assert_array_equal(values[:, index], [[3.0, 4.0, 2.0, 1.0]])
    assert column_indices(KEYPOINT_COLUMNS, KEYPOINT_COLUMNS) == list(range(30))
    assert column_indices(["a", "b", "a"], ["a"]) == [0]  # the first, as list.index gives


def test_column_indices_name_what_is_missing():
    with pytest.raises(
        KeypointsError, match=r"no column 'mouth_x', 'chin_y' among the 2 columns nose_tip_x, nose_tip_y"
    ):
        column_indices(["nose_tip_x", "nose_tip_y"], ["nose_tip_x", "mouth_x", "chin_y"])


def test_problem_lines_show_the_first_few_and_count_the_rest():
    assert problem_lines([], 5) == ""
    assert problem_lines(["a", "b"], 5) == "  a\n  b"
    assert problem_lines([f"line {i}" for i in range(8)], 3) == "  line 0\n  line 1\n  line 2\n  ... and 5 more"
