"""Writing arrays as a Kaggle-format CSV (``training.csv`` or ``test.csv`` layout)."""

from pathlib import Path

import numpy as np

from keypoints import atomic
from keypoints.data.schema import ID_COLUMN, IMAGE_COLUMN, KEYPOINT_COLUMNS, N_PIXELS


def write_kaggle_csv(path, images, keypoints=None, columns=KEYPOINT_COLUMNS, image_ids=None):
    """Write faces in the exact Kaggle CSV format.

    Parameters
    ----------
    path : str or Path
        Where to write; the parent folder is created. A name ending in ``.gz``
        is written gzip-compressed.
    images : array of uint8, shape (N, 1, 96, 96) or (N, 96, 96)
        Gray pixels 0-255.
    keypoints : array of float, shape (N, len(columns)), optional
        Keypoints in pixels; NaN is written as an empty cell (a missing keypoint).
        ``None`` writes the ``test.csv`` layout (``ImageId,Image``).
    columns : sequence of str
        Names of the keypoint columns, in the order of ``keypoints``.
    image_ids : sequence of int, optional
        For the test layout; defaults to 1..N.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    images = np.asarray(images).reshape(len(images), N_PIXELS)
    if images.dtype != np.uint8:
        images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    pixel_text = _pixel_strings(images)
    if keypoints is None:
        ids = range(1, len(images) + 1) if image_ids is None else image_ids
        header = f"{ID_COLUMN},{IMAGE_COLUMN}"
        rows = (f"{i},{p}" for i, p in zip(ids, pixel_text))
    else:
        keypoints = np.asarray(keypoints, dtype=np.float64)
        header = ",".join(list(columns) + [IMAGE_COLUMN])
        rows = (
            ",".join("" if np.isnan(v) else repr(float(v)) for v in kp) + "," + p
            for kp, p in zip(keypoints, pixel_text)
        )
    text = header + "\n" + "".join(row + "\n" for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        import gzip

        with atomic.replacing(path) as temporary, gzip.open(temporary, "wt", compresslevel=1) as handle:
            handle.write(text)
    else:
        atomic.write_text(path, text)
    return path


def _pixel_strings(images):
    """One space-separated string per row of ``images`` (N, 9216) uint8, made without a per-pixel loop."""
    table = np.array([str(v) for v in range(256)], dtype=object)
    return [" ".join(table[row]) for row in images]
