"""Small things the tests of hostile input make: a model file, a labelled CSV, photos, a lookup table."""

import cv2
import numpy as np
import torch

from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.transforms import scale_keypoints
from keypoints.data.writer import write_kaggle_csv
from keypoints.model.checkpoint import save_model
from keypoints.networks.build import Network, build_module
from keypoints.networks.layers import Dense, Flatten
from keypoints.predict.crops.crop import MEAN_KEYPOINTS

NETWORK_MEAN = Network("mean", "the mean training keypoints", (Flatten(), Dense(30)))


def mean_model(path, nan=False):
    """A model file answering the mean keypoints for any face; with ``nan``, one whose weights are NaN."""
    network = NETWORK_MEAN
    module = build_module(network)
    with torch.no_grad():
        module[-1].weight.zero_()
        module[-1].bias.copy_(torch.from_numpy(scale_keypoints(MEAN_KEYPOINTS.ravel())))
    save_model(path, network, module, {"note": "test"})
    if nan:  # save_model refuses NaN weights, so they are put into the file afterwards
        saved = torch.load(path, weights_only=True)
        saved["state_dict"]["dense1.weight"].fill_(float("nan"))
        torch.save(saved, path)
    return path


def labelled_csv(path, n=4, seed=0, missing=False):
    """A training-layout CSV of ``n`` random faces; with ``missing``, every keypoint cell empty."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 1, 96, 96), dtype=np.uint8)
    keypoints = np.full((n, 30), np.nan) if missing else rng.uniform(20, 70, (n, 30)).round(2)
    return write_kaggle_csv(path, images, keypoints)


def kaggle_test_csv(path, n=3):
    """A test-layout CSV (ImageId,Image) of ``n`` random faces."""
    images = np.random.default_rng(1).integers(0, 256, (n, 1, 96, 96), dtype=np.uint8)
    return write_kaggle_csv(path, images)


def lookup_csv(path, n=3):
    """An IdLookupTable asking for the first two columns of every test image."""
    rows = [f"{2 * i + k + 1},{i + 1},{KEYPOINT_COLUMNS[k]}," for i in range(n) for k in range(2)]
    path.write_text("RowId,ImageId,FeatureName,Location\n" + "\n".join(rows) + "\n")
    return path


def photo(path, value=140, size=(120, 160)):
    """A plain gray photo (no face) written as the suffix says; returns the path."""
    done, data = cv2.imencode(path.suffix or ".jpg", np.full((*size, 3), value, np.uint8))
    assert done
    path.write_bytes(data.tobytes())
    return path
