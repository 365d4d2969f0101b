"""Where things live: every default path of the project, defined once."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The project folder (the package is installed in editable mode from it)."""

DATA_DIR = ROOT / "data"
"""Where users put the Kaggle CSVs (never edited by the code)."""

MODELS_DIR = ROOT / "models"
"""Trained networks."""

REPORTS_DIR = ROOT / "reports"
"""What training and benchmarks write for people to look at."""


DEFAULT_MODEL = MODELS_DIR / "default.pt"
"""The model the predictor and ``keypoints evaluate`` use when ``--model`` is not given."""

RESULTS_DIR = Path("results")
"""Where the predictor writes, relative to the current folder."""

EXPLAIN_DIR = RESULTS_DIR / "explain"
"""Where ``keypoints explain`` writes its figures unless ``--out`` is given."""

SUBMISSION_FILE = Path("submission.csv")
"""The Kaggle submission ``keypoints submit`` writes unless ``--out`` is given, in the current folder."""

TRAINING_NAMES = ("training.csv", "training.csv.gz", "training.zip", "training.csv.zip")
"""File names under DATA_DIR that ``make train`` takes as the Kaggle training file, in this order."""


def find_training_file(data_dir=DATA_DIR):
    """The first Kaggle training file found in ``data_dir``, or None."""
    for name in TRAINING_NAMES:
        if (Path(data_dir) / name).is_file():
            return Path(data_dir) / name
    return None
