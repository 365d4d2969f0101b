"""Shared fixtures: fixed seeds, torch's thread count restored, a private cache folder, and the shared data."""

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

DATA_DIR_SETTING = "KEYPOINTS_DATA_DIR"


@pytest.fixture(autouse=True)
def fixed_seeds():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The tests' nets and batches are tiny: a second thread costs more than it gains, most on a busy machine.

    ``KEYPOINTS_TEST_THREADS=n`` sets another count. See docs/decisions/0061-tests-one-torch-thread.md.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("KEYPOINTS_TEST_THREADS", "1")))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def torch_threads():
    """A test that sets torch's thread count leaves the next test the count it found."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test session caches parsed files in its own folder, never in the user's."""
    monkeypatch.setenv("KEYPOINTS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def shared_data_dir():
    """The folder named by KEYPOINTS_DATA_DIR; the test is skipped when it is not set."""
    value = os.environ.get(DATA_DIR_SETTING)
    if not value:
        pytest.skip(
            f"{DATA_DIR_SETTING} is not set: point it at the folder holding training.csv.gz "
            "to run the tests on real faces"
        )
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"{DATA_DIR_SETTING}={value} is not a folder")
    return path


@pytest.fixture(scope="session")
def shared_training_csv(shared_data_dir):
    path = shared_data_dir / "training.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    return path
