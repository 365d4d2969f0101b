"""Run records: what a ``keypoints train`` run measured, as JSON in ``reports/runs/``, read back for the reports.

A record is written after every network and seed (``finished`` false until the end), so a run cut short keeps
its complete pairs, and a report can be composed again from records alone (``keypoints train --report-only``)
or set one run beside another (the reproducibility section). A record never overwrites another: its name holds
the preset, the start time and the device's threads.
"""

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import NamedTuple

from keypoints import atomic
from keypoints.errors import DataError
from keypoints.training.appearance import Appearance
from keypoints.training.estimator import Recipe
from keypoints.training.settings import TrainSettings
from keypoints.training.trainer import NetworkResult, TrainingRun

RECORDS_DIR = "runs"
"""The records' folder, inside the reports folder."""

FORMAT = 1
"""Bumped when a record's fields change meaning."""


class SplitSummary(NamedTuple):
    """What a report needs of a run's (first) split when the faces themselves are gone."""

    sha256: str
    split: str
    sources: tuple = ()


def record_path(run, reports_dir):
    """``<reports_dir>/runs/<preset>-<start time>-<device><threads>.json``."""
    stamp = run.started.replace("-", "").replace(":", "").split("+")[0]
    where = "cuda" if run.device == "cuda" else f"cpu{run.threads}"
    return Path(reports_dir) / RECORDS_DIR / f"{run.preset}-{stamp}-{where}.json"


def run_record(run):
    """A run as a JSON-ready dict: settings, splits, versions and every result (epoch tables included)."""
    settings = asdict(run.settings)
    if settings["data"]:
        settings["data"] = Path(settings["data"]).name  # the file, not the machine's path to it
    if settings.get("photos"):
        settings["photos"] = [Path(folder).name for folder in settings["photos"]]
    if settings.get("hold_out"):
        settings["hold_out"] = Path(settings["hold_out"]).name
    results = []
    for result in run.results:
        row = {f.name: getattr(result, f.name) for f in fields(NetworkResult) if f.name != "recipe"}
        row["recipe"] = asdict(result.recipe)
        results.append(row)
    return {
        "format": FORMAT,
        "preset": run.preset,
        "networks": list(run.networks),
        "seeds": list(run.seeds),
        "device": run.device,
        "threads": run.threads,
        "started": run.started,
        "finished": run.finished,
        "seconds": run.seconds,
        "versions": run.versions,
        "data": run.data.name,
        "data_sha256": run.split.sha256,
        "synthetic": run.synthetic,
        "split": run.split.split,
        "sources": list(getattr(run.split, "sources", ()) or ()),
        "split_per_seed": run.split_per_seed,
        "splits": {str(seed): split for seed, split in run.splits.items()},
        "baseline": {"rmse": run.baseline[0], "per_keypoint": run.baseline[1]},
        "jitter": list(run.jitter),
        "command": run.command(),
        "settings": settings,
        "results": results,
    }


def write_record(run, reports_dir):
    """Write (or bring up to date) the record of ``run``, atomically; returns its path."""
    path = record_path(run, reports_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic.write_text(path, json.dumps(run_record(run), indent=1) + "\n")


def _recipe(values):
    values = dict(values)
    if values.get("jitter") is not None:
        values["jitter"] = tuple(values["jitter"])
    if values.get("appearance") is not None:
        values["appearance"] = Appearance(**values["appearance"])
    return Recipe(**values)


def read_record(path):
    """A :class:`~keypoints.training.trainer.TrainingRun` from a record (no faces, no modules).

    Raises
    ------
    DataError
        When the file is not a record this version reads; the message names the file.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{atomic.show(path)}: cannot be read as a run record ({error}).") from error
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise DataError(f"{atomic.show(path)}: not a run record of format {FORMAT}; remove it or move it away.")
    settings = dict(record["settings"])
    for key in ("nets", "photos"):
        if settings.get(key) is not None:
            settings[key] = tuple(settings[key])
    results = [NetworkResult(**{**row, "recipe": _recipe(row["recipe"])}) for row in record["results"]]
    return TrainingRun(
        settings=TrainSettings(**settings),
        preset=record["preset"],
        networks=tuple(record["networks"]),
        seeds=tuple(record["seeds"]),
        device=record["device"],
        data=Path(record["data"]),
        synthetic=record["synthetic"],
        split=SplitSummary(record["data_sha256"], record["split"], tuple(record.get("sources", ()))),
        baseline=(record["baseline"]["rmse"], record["baseline"]["per_keypoint"]),
        results=results,
        jitter=tuple(record["jitter"]),
        seconds=record["seconds"],
        splits={int(seed): split for seed, split in record["splits"].items()},
        split_per_seed=record["split_per_seed"],
        threads=record["threads"],
        started=record["started"],
        versions=record["versions"],
        finished=record["finished"],
    )


def read_records(reports_dir, sha256=None):
    """Every record in ``<reports_dir>/runs/``, oldest first; only those of data ``sha256`` when given."""
    folder = Path(reports_dir) / RECORDS_DIR
    runs = [read_record(path) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    if sha256 is not None:
        runs = [run for run in runs if run.split.sha256 == sha256]
    return sorted(runs, key=lambda run: run.started)
