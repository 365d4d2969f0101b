"""The Kaggle "Facial Keypoints Detection" format: image size and keypoint names."""

from keypoints.errors import KeypointsError

IMAGE_SIZE = 96
"""Side of the square gray images, in pixels."""

N_PIXELS = IMAGE_SIZE * IMAGE_SIZE

IMAGE_COLUMN = "Image"
ID_COLUMN = "ImageId"

KEYPOINTS = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "left_eyebrow_inner_end",
    "left_eyebrow_outer_end",
    "right_eyebrow_inner_end",
    "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_center_top_lip",
    "mouth_center_bottom_lip",
)
"""The 15 keypoints in Kaggle's column order. "left" is the subject's left,
which is on the image's right."""

KEYPOINT_COLUMNS = tuple(f"{name}_{axis}" for name in KEYPOINTS for axis in ("x", "y"))
"""The 30 coordinate columns in Kaggle's order: ``left_eye_center_x``, ``left_eye_center_y``, ..."""


def mirror_name(column):
    """Name of the column that a horizontal flip swaps with ``column``.

    ``left_eye_center_x`` -> ``right_eye_center_x``; columns with no side
    (nose tip, lip centres) map to themselves.
    """
    for this, other in (("left", "right"), ("right", "left")):
        if column.startswith(this + "_"):
            return other + column[len(this) :]
        if f"_{this}_" in column:
            return column.replace(f"_{this}_", f"_{other}_", 1)
    return column


def column_indices(columns, names):
    """Positions of ``names`` in ``columns``, to reorder an array's columns into ``names``' order.

    ``keypoints[:, column_indices(columns, KEYPOINT_COLUMNS)]`` gives, for
    keypoints whose columns are ``columns``, the columns in Kaggle's order.

    Parameters
    ----------
    columns : sequence of str, length K
        The columns an array has, in order.
    names : sequence of str, length M
        The columns wanted, in the order wanted.

    Returns
    -------
    list of int, length M
        The first position of each name in ``columns``.

    Raises
    ------
    KeypointsError
        If a name is not among the columns, naming it and the columns there are.
    """
    position = {}
    for i, column in enumerate(columns):
        position.setdefault(column, i)
    missing = [name for name in names if name not in position]
    if missing:
        raise KeypointsError(
            f"no column {', '.join(repr(name) for name in missing)} among the {len(position)} columns "
            f"{', '.join(position)}; use a model or file that has it"
        )
    return [position[name] for name in names]
