"""Where things live: every default path of the project, defined once.

Outputs go to the current folder, so an installed package (``pip install .``)
writes where the user runs it, never into site-packages; what ships with the
package (the default model and its card) is found with :mod:`importlib.resources`.
"""

import os
from importlib import resources
from pathlib import Path

ASSETS = Path(str(resources.files("keypoints") / "assets"))
"""Package data: the shipped model and its card (installed with the package)."""

DEFAULT_MODEL = ASSETS / "default.pt"
"""The shipped model as PyTorch weights: what ``keypoints evaluate``, ``explain`` and ``submit`` use when
``--model`` is not given, and what ``default.onnx`` is exported from."""

PREDICTOR_MODEL = ASSETS / "default.onnx"
"""The shipped model exported to ONNX (``keypoints export``): what ``keypoints predict``, ``evaluate-photos``
and ``keypoints.Predictor()`` run, in OpenCV's DNN module, without torch."""

MODEL_CARD = ASSETS / "MODEL_CARD.md"
"""The shipped model's card for people: data, terms, split, figures."""

DATA_DIR = Path("data")
"""Where users put the Kaggle CSVs, relative to the current folder (never edited by the code)."""

DATA_ENV = "KEYPOINTS_DATA_DIR"
"""Environment variable naming another folder that holds the Kaggle CSVs."""

KAGGLE_INPUT_DIR = Path("/kaggle/input/facial-keypoints-detection")
"""Where a Kaggle notebook mounts the competition's files."""

MODELS_DIR = Path("models")
"""Trained networks, relative to the current folder."""

REPORTS_DIR = Path("reports")
"""What training and benchmarks write for people to look at, relative to the current folder."""

RESULTS_DIR = Path("results")
"""Where the predictor writes, relative to the current folder."""

EXPLAIN_DIR = RESULTS_DIR / "explain"
"""Where ``keypoints explain`` writes its figures unless ``--out`` is given."""

SUBMISSION_FILE = Path("submission.csv")
"""The Kaggle submission ``keypoints submit`` writes unless ``--out`` is given, in the current folder."""

TRAINING_NAMES = ("training.csv", "training.csv.gz", "training.zip", "training.csv.zip")
"""File names under DATA_DIR that ``make train`` takes as the Kaggle training file, in this order."""


def data_dirs(data_dir=None):
    """The folders searched for the Kaggle files, in order.

    Parameters
    ----------
    data_dir : str or Path, optional
        ``DATA=`` / ``--data`` when it names a folder: searched first.

    Returns
    -------
    list of Path
        ``data_dir``, ``./data``, ``$KEYPOINTS_DATA_DIR`` and Kaggle's input folder, those set.
    """
    found = [Path(data_dir)] if data_dir else []
    found.append(DATA_DIR)
    if os.environ.get(DATA_ENV):
        found.append(Path(os.environ[DATA_ENV]))
    found.append(KAGGLE_INPUT_DIR)
    return found


def find_training_file(data_dir=DATA_DIR):
    """The first Kaggle training file found in ``data_dir``, or None.

    With ``data_dir=None`` every folder of :func:`data_dirs` is searched, in order.
    """
    for folder in [Path(data_dir)] if data_dir is not None else data_dirs():
        for name in TRAINING_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def model_path(path=None, shipped=None):
    """The model file a command uses: ``path``, or a shipped model when it is None.

    Every command that takes ``--model`` resolves it here, so a missing shipped model
    gives one message everywhere.

    Parameters
    ----------
    path : str or Path, optional
    shipped : Path, optional
        The shipped model to fall back on: :data:`DEFAULT_MODEL` (the default, for torch) or
        :data:`PREDICTOR_MODEL` (the ONNX export the predictor runs).

    Returns
    -------
    Path

    Raises
    ------
    ModelFileError
        ``path`` is None and the shipped model is missing.
    """
    if path is not None:
        return Path(path)
    shipped = DEFAULT_MODEL if shipped is None else shipped
    if not shipped.is_file():
        from keypoints.errors import ModelFileError

        raise ModelFileError(
            f"no model file: {shipped} is missing. It ships with the project "
            f"(restore it with `git checkout keypoints/assets/{shipped.name}`), or train one with `make train` "
            "and pass it with --model models/bnconv.pt"
        )
    return shipped
