"""``make data``: fetch the competition files with the official ``kaggle`` command."""

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from keypoints.errors import DataError

COMPETITION = "facial-keypoints-detection"

HOW_TO_GET_A_TOKEN = f"""No Kaggle credentials were found, so nothing was downloaded. Either:
  1. Sign in at kaggle.com, open the competition "Facial Keypoints Detection" ({COMPETITION}) and accept its rules.
  2. On your Kaggle account page (Settings), under API, choose "Create New Token"; it downloads kaggle.json.
  3. Save it as ~/.kaggle/kaggle.json and run `chmod 600 ~/.kaggle/kaggle.json`
     (or export KAGGLE_USERNAME and KAGGLE_KEY with the values inside it), then run `make data` again.
Or put the files there by hand: download training.zip, test.zip and IdLookupTable.csv from the competition's
Data page into {{out}}/ (zipped or not); see {{out}}/README.md."""


def kaggle_credentials():
    """Where Kaggle credentials were found (a description), or None."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME and KAGGLE_KEY"
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    folder = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")
    for name in ("kaggle.json", "access_token"):
        if (folder / name).is_file():
            return str(folder / name)
    return None


def download_competition(out_dir, run=subprocess.run, say=print):
    """Download and unpack the competition files into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
    run : callable
        ``subprocess.run``; replaced in tests.
    say : callable

    Returns
    -------
    list of Path
        The CSV files now in ``out_dir``.
    """
    out_dir = Path(out_dir)
    found = kaggle_credentials()
    if not found:
        raise DataError(HOW_TO_GET_A_TOKEN.format(out=out_dir))
    command = shutil.which("kaggle")
    if not command:
        raise DataError(
            "the `kaggle` command is not installed; `make data` installs it into .venv (or run `pip install kaggle`)."
        )
    say(f"Kaggle credentials: {found}")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = run([command, "competitions", "download", "-c", COMPETITION, "-p", str(out_dir)])
    if result.returncode != 0:
        raise DataError(
            f"`kaggle competitions download -c {COMPETITION}` failed (exit {result.returncode}). "
            "If it says 403, accept the competition's rules on its page first."
        )
    for archive in sorted(out_dir.glob("*.zip")):
        unpack(archive, out_dir)
    csvs = sorted(out_dir.glob("*.csv"))
    say("now in {}: {}".format(out_dir, ", ".join(p.name for p in csvs)))
    return csvs


def unpack(archive, out_dir):
    """Unzip ``archive`` into ``out_dir``, and the zips inside it too (Kaggle nests them)."""
    with zipfile.ZipFile(archive) as handle:
        for member in handle.namelist():
            target = (out_dir / member).resolve()
            if out_dir.resolve() not in target.parents:
                raise DataError(f"{archive}: member {member!r} would be written outside {out_dir}.")
        handle.extractall(out_dir)
        inner = [out_dir / m for m in handle.namelist() if m.endswith(".zip")]
    for nested in inner:
        unpack(nested, out_dir)
