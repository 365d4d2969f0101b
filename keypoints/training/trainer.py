"""``keypoints train``: train the chosen networks on one split and compare them.

The steps sit apart so tests and benchmarks can call them: :func:`resolve_data`
finds the training file, :func:`prepare` loads and splits it, :func:`train_one`
trains one network and measures it, :func:`train_networks` does all of it and
writes the model files and the report.
"""

import hashlib
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from keypoints import atomic, paths
from keypoints.checkpoint import save_model
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.splits import identities_path_for, load_identities, train_valid_split
from keypoints.data.transforms import MIRROR_SUM, STAND_IN_MIRROR_SUM, scale_images, scale_keypoints
from keypoints.errors import DataError, KeypointsError
from keypoints.inference import predict_pixels
from keypoints.networks import build_network, get_network
from keypoints.training import interrupts
from keypoints.training.batches import FaceTensors
from keypoints.training.estimator import choose_device, make_regressor
from keypoints.training.metrics import rmse_per_keypoint, seconds_per_face
from keypoints.training.presets import DEFAULT_NETWORKS, recipe_for

SYNTHETIC_FACES = 1200
"""Size of the synthetic stand-in written when no training data is found."""


@dataclass
class TrainSettings:
    """What ``keypoints train`` was asked to do (printed first, stored in every model card)."""

    data: str = None
    nets: tuple = DEFAULT_NETWORKS
    epochs: int = None
    preset: str = "default"
    device: str = "auto"
    seed: int = 0
    valid_fraction: float = 0.2
    skip_bad_rows: bool = False
    mirror_sum: float = None
    models_dir: str = str(paths.MODELS_DIR)
    reports_dir: str = str(paths.REPORTS_DIR)


@dataclass
class TrainValidSplit:
    """The faces of one training file, split once for every network."""

    source: Path
    sha256: str
    columns: tuple
    train_images: np.ndarray  # (N_train, 1, 96, 96) uint8
    train_keypoints: np.ndarray  # (N_train, 30) pixels, NaN missing
    valid_images: np.ndarray
    valid_keypoints: np.ndarray
    split: str
    synthetic: bool = False


@dataclass
class NetworkResult:
    """What training one network gave."""

    name: str
    description: str
    params: int
    epochs: int
    best_epoch: int
    seconds: float
    best_valid_rmse: float
    valid_rmse: float
    per_keypoint: dict
    ms_per_face: float
    history: list = field(repr=False, default_factory=list)
    model_path: str = None
    train_state_mb: float = 0.0
    peak_gpu_mb: float = None
    recipe: object = None
    mirror_sum: float = None


def resolve_data(requested=None, data_dir=None, say=print):
    """The training file to use: ``requested``, else one in ``data_dir``, else synthetic faces.

    Returns
    -------
    tuple of (Path, bool)
        The file, and whether it is the synthetic stand-in.
    """
    if requested:
        return Path(requested), False
    found = paths.find_training_file(data_dir)
    if found:
        return found, False
    searched = data_dir or ", ".join(str(d) for d in paths.data_dirs())
    data_dir = data_dir or paths.DATA_DIR
    synthetic = Path(data_dir) / "synthetic" / "training.csv"
    say(
        f"NOTICE: no training data found (looked for DATA=..., then {', '.join(paths.TRAINING_NAMES)} "
        f"in {searched}).\n"
        f"NOTICE: training on {SYNTHETIC_FACES} SYNTHETIC faces instead; the results below are not "
        "results on real faces.\n"
        "NOTICE: for the real data run `make data` (needs a Kaggle token) or see data/README.md."
    )
    if not synthetic.is_file():
        from keypoints.data.synthetic import write_synthetic_csv

        write_synthetic_csv(synthetic, SYNTHETIC_FACES, seed=0)
    return synthetic, True


def prepare(path, valid_fraction=0.2, seed=0, skip_bad_rows=False, synthetic=False, say=print):
    """Load a training file and split it, by person when the people are known."""
    data = load_kaggle_csv(path, skip_bad_rows=skip_bad_rows)
    for problem in data.skipped:
        say(f"skipped {problem}")
    if not data.columns:
        raise DataError(f"{path}: has no keypoint columns (a test file?); training needs training.csv.")
    keypoints = data.keypoints_in(KEYPOINT_COLUMNS)
    labelled = ~np.isnan(keypoints).all(axis=1)
    if labelled.sum() < 2:
        raise DataError(
            f"{path}: {int(labelled.sum())} of {len(data)} faces have any keypoint, and training needs at least 2 "
            "(one to train on, one to validate); is it a test file, or were the keypoint cells left empty?"
        )
    identities_file = identities_path_for(path)
    if identities_file.is_file():
        # one identity per data row of the file, skipped rows included
        people = load_identities(identities_file, n_rows=len(data) + len(data.skipped))
        groups = people[data.lines - 2][labelled]
        split = f"by person: {identities_file.name} ({len(set(groups))} people)"
    else:
        groups = None
        split = "random rows (no identities file, so one person may be on both sides)"
    images, keypoints = data.images[labelled], keypoints[labelled]
    train, valid = train_valid_split(len(images), groups=groups, valid_fraction=valid_fraction, seed=seed)
    return TrainValidSplit(
        source=Path(path),
        sha256=file_sha256(path),
        columns=KEYPOINT_COLUMNS,
        train_images=images[train],
        train_keypoints=keypoints[train],
        valid_images=images[valid],
        valid_keypoints=keypoints[valid],
        split=f"{split}; {len(train)} train / {len(valid)} validation faces, seed {seed}",
        synthetic=synthetic,
    )


def face_tensors(images, keypoints, device="cpu"):
    """Scaled tensors on ``device`` for training: pixels in [0, 1], keypoints in [-1, 1]."""
    return FaceTensors(
        torch.from_numpy(scale_images(images)), torch.from_numpy(scale_keypoints(keypoints)), KEYPOINT_COLUMNS
    ).to(device)


def train_one(
    name, prepared, recipe, device="cpu", seed=0, verbose=1, progress_bar=False, mirror_sum=None, speedups=None
):
    """Train one network on a prepared split and measure it.

    ``speedups`` is passed to :func:`make_regressor` (None: ``KEYPOINTS_SPEEDUPS`` or the device's default).

    Returns
    -------
    tuple of (NetworkResult, torch.nn.Module)
        The module holds the best weights (by validation RMSE).
    """
    torch.manual_seed(seed)
    network = get_network(name)
    module = build_network(name)
    train_set = face_tensors(prepared.train_images, prepared.train_keypoints, device)
    valid_set = face_tensors(prepared.valid_images, prepared.valid_keypoints, device)
    batches = (len(train_set) + recipe.batch_size - 1) // recipe.batch_size
    if mirror_sum is None:
        mirror_sum = MIRROR_SUM if prepared.synthetic else STAND_IN_MIRROR_SUM
    regressor = make_regressor(
        module,
        recipe,
        valid_set=valid_set,
        device=device,
        seed=seed,
        batches_per_epoch=batches,
        verbose=verbose,
        progress_bar=progress_bar,
        mirror_sum=mirror_sum,
        speedups=speedups,
    )
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    regressor.fit(train_set, y=None)
    seconds = time.perf_counter() - started
    history = [
        {k: row[k] for k in ("epoch", "train_rmse", "valid_rmse", "dur") if k in row} for row in regressor.history
    ]
    best = min(history, key=lambda row: row["valid_rmse"])
    module = regressor.module_
    autocast = regressor.autocast_dtype
    predicted = predict_pixels(module, prepared.valid_images, device=device, autocast_dtype=autocast)
    overall, per_keypoint = rmse_per_keypoint(predicted, prepared.valid_keypoints, prepared.columns)
    params = sum(p.numel() for p in module.parameters())
    result = NetworkResult(
        name=name,
        description=network.description,
        params=params,
        epochs=len(history),
        best_epoch=best["epoch"],
        seconds=seconds,
        best_valid_rmse=best["valid_rmse"],
        valid_rmse=overall,
        per_keypoint=per_keypoint,
        ms_per_face=1000 * seconds_per_face(module, device=device, autocast_dtype=autocast),
        history=history,
        # float32 weights and gradients, plus AdamW's two moments or SGD's one
        train_state_mb=params * 4 * (4 if recipe.optimizer == "adamw" else 3) / 2**20,
        peak_gpu_mb=torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
        recipe=recipe,
        mirror_sum=mirror_sum,
    )
    return result, module


def mean_baseline(prepared):
    """RMSE of predicting the training mean of each coordinate, overall and per keypoint."""
    mean = np.nanmean(prepared.train_keypoints, axis=0)
    predicted = np.broadcast_to(mean, prepared.valid_keypoints.shape)
    return rmse_per_keypoint(predicted, prepared.valid_keypoints, prepared.columns)


def train_networks(settings, say=print):
    """Everything ``keypoints train`` does; returns the list of :class:`NetworkResult`."""
    from keypoints.explain.training_figures import write_training_explanations
    from keypoints.reports import write_comparison

    device = choose_device(settings.device)
    if not settings.nets:
        raise KeypointsError("no network to train: --nets names none; give one or more, as in --nets conv,local")
    for name in settings.nets:
        get_network(name)  # an unknown name fails before any work
    atomic.check_output_folder(settings.models_dir, "--models-dir")  # a bad path fails before training, too
    atomic.check_output_folder(settings.reports_dir, "--reports-dir")
    say("keypoints train")
    for key, value in asdict(settings).items():
        say(f"  {key:15s} {','.join(value) if isinstance(value, tuple) else value}")
    say(f"  {'device used':15s} {device}" + (" (bf16 autocast)" if device == "cuda" else ""))
    path, synthetic = resolve_data(settings.data, say=say)
    if synthetic and settings.preset == "default":
        settings.preset = "synthetic"
        say("NOTICE: the synthetic faces train with the short 'synthetic' preset (under 3 minutes).")
    prepared = prepare(path, settings.valid_fraction, settings.seed, settings.skip_bad_rows, synthetic, say=say)
    say(f"data: {path} (sha256 {prepared.sha256[:12]}...)\nsplit: {prepared.split}")
    baseline = mean_baseline(prepared)
    say(f"baseline (predict the training mean): validation RMSE {baseline[0]:.3f} px")
    results, explanations = [], []
    for name in settings.nets:
        recipe = recipe_for(name, settings.preset, settings.epochs)
        say(
            f"\n== {name}: {recipe.epochs} epochs at most, {recipe.optimizer}, lr {recipe.lr:g}, "
            f"batch {recipe.batch_size} =="
        )
        try:
            result, module = train_one(
                name,
                prepared,
                recipe,
                device=device,
                seed=settings.seed,
                progress_bar=sys.stderr.isatty(),
                mirror_sum=settings.mirror_sum,
            )
        except interrupts.InterruptedTraining as stop:
            mirror_sum = settings.mirror_sum
            if mirror_sum is None:
                mirror_sum = MIRROR_SUM if synthetic else STAND_IN_MIRROR_SUM
            card = {
                "network": name,
                "data": str(path),
                "data_sha256": prepared.sha256,
                "synthetic_data": synthetic,
                "split": prepared.split,
                "recipe": asdict(recipe),
                "device": device,
                "seed": settings.seed,
                "flip_mirror_sum_px": mirror_sum,
                "command": command_line(settings),
            }
            finished = [r.model_path for r in results]
            interrupts.keep_best_so_far(stop, name, settings.models_dir, card, save_model, say=say, finished=finished)
        card = {
            "network": name,
            "data": str(path),
            "data_sha256": prepared.sha256,
            "synthetic_data": synthetic,
            "split": prepared.split,
            "epochs": result.epochs,
            "best_epoch": result.best_epoch,
            "best_valid_rmse_px": round(result.best_valid_rmse, 4),
            "recipe": asdict(recipe),
            "training_seconds": round(result.seconds, 1),
            "device": device,
            "seed": settings.seed,
            "flip_mirror_sum_px": result.mirror_sum,
            "command": command_line(settings),
        }
        result.model_path = str(save_model(Path(settings.models_dir) / f"{name}.pt", name, module, card))
        say(
            f"{name}: best validation RMSE {result.best_valid_rmse:.3f} px at epoch {result.best_epoch}, "
            f"{result.seconds:.0f} s; saved {result.model_path}"
        )
        results.append(result)
        # saliency and occlusion of this network on the face every network is shown on
        explanations += write_training_explanations({name: module}, prepared, settings.reports_dir)
    report = write_comparison(
        results, baseline, prepared, settings, device, Path(settings.reports_dir), explanations=explanations
    )
    say(f"\nreport: {report}")
    return results


def command_line(settings):
    """The ``keypoints train`` command that repeats this run."""
    parts = ["keypoints train"]
    if settings.data:
        parts.append(f"--data {settings.data}")
    parts += [f"--nets {','.join(settings.nets)}", f"--preset {settings.preset}", f"--seed {settings.seed}"]
    if settings.epochs:
        parts.append(f"--epochs {settings.epochs}")
    return " ".join(parts)


def file_sha256(path):
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
