"""Degraded photos for measuring robustness: seeded, same size and type, each changed its own way."""

import cv2
import numpy as np

from keypoints.data.synthetic import generate_faces
from keypoints.measure.photos import degraded_items


def photo():
    images, _ = generate_faces(1, seed=5)
    return cv2.cvtColor(cv2.resize(images[0, 0], (192, 192)), cv2.COLOR_GRAY2BGR)


def test_degraded_photos_are_seeded_keep_their_size_and_change():
    original = photo()
    items = [("a", original, np.zeros((15, 2)))] * 6
    first, again = degraded_items(items, seed=3), degraded_items(items, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert all(np.array_equal(a[2], items[0][2]) and a[0] == "a" for a in first)  # labels untouched
    for _, degraded, _ in first:
        assert degraded.shape == original.shape and degraded.dtype == np.uint8
        assert np.abs(degraded.astype(int) - original).mean() > 2
    assert len({d.tobytes() for _, d, _ in first}) == 6  # each photo drawn its own way
