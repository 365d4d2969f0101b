"""``keypoints train``: train the chosen networks over several seeds on one split, and save them.

The steps sit apart so tests and benchmarks can call them: :func:`resolve_data`
finds the training file, :func:`prepare` loads and splits it, :func:`train_one`
trains one network and measures it, :func:`train_networks` does all of it,
writes the model files and returns a :class:`TrainingRun`. The report is
written one level up, from that run (:mod:`keypoints.report`).
"""

import csv
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from keypoints import atomic
from keypoints.checkpoint import save_model
from keypoints.data.transforms import (
    MIRROR_SUM,
    REAL_FACES_MIRROR_SUM,
    scale_images,
    scale_keypoints,
    unscale_images,
    unscale_keypoints,
)
from keypoints.errors import KeypointsError
from keypoints.inference import predict_pixels
from keypoints.metrics import rmse_per_keypoint, seconds_per_face
from keypoints.networks import build_network, get_network
from keypoints.training import interrupts
from keypoints.training.augment import draw_jitter, jitter_faces
from keypoints.training.callbacks import RunClock, format_duration
from keypoints.training.estimator import choose_device, make_regressor
from keypoints.training.faces import (
    SYNTHETIC_FACES,
    TrainValidSplit,
    face_tensors,
    file_sha256,
    mean_baseline,
    prepare,
    resolve_data,
)
from keypoints.training.memory import training_memory_bytes
from keypoints.training.presets import VALIDATION_JITTER, VALIDATION_JITTER_SEED, preset_for_data, recipe_for
from keypoints.training.settings import TrainSettings

__all__ = [
    "SYNTHETIC_FACES",
    "file_sha256",
    "NetworkResult",
    "TrainSettings",
    "TrainValidSplit",
    "TrainingRun",
    "face_tensors",
    "mean_baseline",
    "prepare",
    "resolve_data",
    "train_networks",
    "train_one",
]

DATA_TERMS = {
    True: "synthetic faces drawn by `keypoints synth`: no restriction",
    False: "the terms of the data's source (for the Kaggle file, the competition's rules: use, not redistribution)",
}
"""What the model card says about the training data's terms, by whether it was synthetic."""


@dataclass
class NetworkResult:
    """What training one network with one seed gave; RMSE in pixels on the validation faces."""

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
    train_memory_mb: float = 0.0
    peak_gpu_mb: float = None
    recipe: object = None
    mirror_sum: float = None
    seed: int = 0
    jittered_rmse: float = None
    jittered_per_keypoint: dict = None


@dataclass
class TrainingRun:
    """Everything a ``keypoints train`` run trained and measured, for the report stage.

    Attributes
    ----------
    settings : TrainSettings
        As asked, unchanged.
    preset : str
        The preset used (``synthetic`` stands in for ``default`` on synthetic faces).
    networks, seeds : tuple
    device : str
    data : Path
    synthetic : bool
    split : TrainValidSplit
    baseline : tuple of (float, dict)
        RMSE of predicting the training mean, overall and per keypoint.
    results : list of NetworkResult
        One per network and seed.
    modules : dict of str to torch.nn.Module
        The saved model of each network (its first seed).
    jitter : tuple of float
        ``(degrees, scale, pixels)`` of the jittered validation faces.
    seconds : float
        Wall time of the whole run.
    """

    settings: TrainSettings
    preset: str
    networks: tuple
    seeds: tuple
    device: str
    data: Path
    synthetic: bool
    split: object
    baseline: tuple
    results: list
    modules: dict = field(repr=False, default_factory=dict)
    jitter: tuple = VALIDATION_JITTER
    seconds: float = 0.0

    def results_of(self, name):
        """The results of one network, in seed order."""
        return [r for r in self.results if r.name == name]

    def command(self):
        """The command that repeats the run, naming the data file without the machine's path to it."""
        data = self.settings.data
        if data and Path(data).is_absolute():
            data = Path(data).name
        return replace(self.settings, preset=self.preset).command(data=data)


def default_mirror_sum(synthetic):
    """x + mirrored x of the labels: OpenCV's for the synthetic faces, the measured one for real faces."""
    return MIRROR_SUM if synthetic else REAL_FACES_MIRROR_SUM


def jittered_validation(split, mirror_sum, jitter=VALIDATION_JITTER, seed=VALIDATION_JITTER_SEED):
    """The validation faces rotated, scaled and shifted at random, as a detector's crops are.

    The jitter of :mod:`keypoints.training.augment`, drawn once from ``seed``, so every network and seed
    is scored on the same faces.

    Returns
    -------
    tuple of ndarray
        Images (N, 1, 96, 96) uint8 and keypoints (N, 30) in pixels, NaN where missing.
    """
    images = torch.from_numpy(scale_images(split.valid_images))
    keypoints = torch.from_numpy(scale_keypoints(split.valid_keypoints))
    generator = torch.Generator().manual_seed(seed)
    angle, size, offset = draw_jitter(len(images), generator, *jitter)
    columns = list(split.columns)
    x_index = torch.tensor([i for i, c in enumerate(columns) if c.endswith("_x")])
    y_index = torch.tensor([columns.index(c[:-2] + "_y") for c in columns if c.endswith("_x")])
    moved_images, moved_keypoints = jitter_faces(
        images, keypoints, angle, size, offset, x_index, y_index, centre=mirror_sum / 2
    )
    return unscale_images(moved_images.numpy()), unscale_keypoints(moved_keypoints.numpy())


def train_one(
    name,
    prepared,
    recipe,
    device="cpu",
    seed=0,
    verbose=1,
    progress_bar=False,
    mirror_sum=None,
    clock=None,
    jittered=None,
    speedups=None,
):
    """Train one network on a prepared split and measure it.

    Parameters
    ----------
    name : str
    prepared : TrainValidSplit
    recipe : Recipe
    device : str
    seed : int
        Seeds the weights, the batch order, the flips and the jitter.
    verbose : int
    progress_bar : bool
    mirror_sum : float, optional
        x + mirrored x of the labels; None takes :func:`default_mirror_sum`.
    clock : RunClock, optional
        The whole run's plan, for the time left in the epoch table.
    jittered : tuple of ndarray, optional
        Jittered validation faces from :func:`jittered_validation`, scored too.
    speedups : str, optional
        Passed to :func:`make_regressor` (None: ``KEYPOINTS_SPEEDUPS`` or the device's default).

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
        mirror_sum = default_mirror_sum(prepared.synthetic)
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
        clock=clock,
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
    jittered_rmse = jittered_per_keypoint = None
    if jittered is not None:
        moved = predict_pixels(module, jittered[0], device=device, autocast_dtype=autocast)
        jittered_rmse, jittered_per_keypoint = rmse_per_keypoint(moved, jittered[1], prepared.columns)
    params = sum(p.numel() for p in module.parameters())
    memory = training_memory_bytes(network, recipe.batch_size, recipe.optimizer)["total"]
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
        train_memory_mb=memory / 2**20,
        peak_gpu_mb=torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
        recipe=recipe,
        mirror_sum=mirror_sum,
        seed=seed,
        jittered_rmse=jittered_rmse,
        jittered_per_keypoint=jittered_per_keypoint,
    )
    return result, module


def _epochs_text(recipes):
    """The epoch limit of each network, as printed: one number when they share it."""
    limits = {name: recipe.epochs for name, recipe in recipes.items()}
    if len(set(limits.values())) == 1:
        return str(next(iter(limits.values())))
    return ", ".join(f"{name} {epochs}" for name, epochs in limits.items())


def train_networks(settings, say=print):
    """Everything ``keypoints train`` does but the report: train every network with every seed, save them.

    Each network's first seed is saved as ``<models_dir>/<net>.pt`` with its epoch table beside it
    (``<net>.history.csv``). ``settings`` is left as it was.

    Returns
    -------
    TrainingRun
    """
    started = time.perf_counter()
    device = choose_device(settings.device)
    if settings.nets is not None and not settings.nets:
        raise KeypointsError("no network to train: --nets names none; give one or more, as in --nets conv,local")
    for name in settings.networks():
        get_network(name)  # an unknown name fails before any work
    atomic.check_output_folder(settings.models_dir, "--models-dir")  # a bad path fails before training, too
    atomic.check_output_folder(settings.reports_dir, "--reports-dir")
    say("keypoints train")
    path, synthetic = resolve_data(settings.data, say=say)
    preset = preset_for_data(settings.preset, synthetic)
    if preset != settings.preset:
        say(f"NOTICE: the synthetic faces train with the short {preset!r} preset (under 3 minutes).")
    networks, seeds = settings.networks(preset), settings.seed_list(preset)
    recipes = {name: recipe_for(name, preset, settings.epochs) for name in networks}
    mirror_sum = settings.mirror_sum if settings.mirror_sum is not None else default_mirror_sum(synthetic)
    resolved = dict(data=path, nets=networks, epochs=_epochs_text(recipes), preset=preset, seeds=seeds)
    for key, value in {**asdict(settings), **resolved, "mirror_sum": mirror_sum}.items():
        say(f"  {key:15s} {', '.join(map(str, value)) if isinstance(value, tuple) else value}")
    say(f"  {'device used':15s} {device}" + (" (bf16 autocast)" if device == "cuda" else ""))
    split = prepare(path, settings.valid_fraction, settings.seed, settings.skip_bad_rows, synthetic, say=say)
    say(f"data: {path} (sha256 {split.sha256[:12]}...)\nsplit: {split.split}")
    baseline = mean_baseline(split)
    say(f"baseline (predict the training mean): validation RMSE {baseline[0]:.3f} px")
    jittered = jittered_validation(split, mirror_sum)
    run_card = {  # what every model file of this run says of its data, split and command
        "data": str(path),
        "data_sha256": split.sha256,
        "synthetic_data": synthetic,
        "data_terms": DATA_TERMS[synthetic],
        "split": split.split,
        "valid_fraction": settings.valid_fraction,  # with the card's seed, `evaluate --split valid` re-makes the split
        "mean_baseline_rmse_px": round(baseline[0], 4),
        "device": device,
        "command": replace(settings, preset=preset).command(),
    }
    # seeds outside, networks inside: a run cut short still holds complete pairs
    plan = [(seed, name) for seed in seeds for name in networks]
    clock = RunClock([(name, recipes[name].epochs) for _, name in plan])
    say(f"plan: {', '.join(networks)} x seeds {', '.join(map(str, seeds))} = {len(plan)} training runs")
    results, modules = [], {}
    for index, (seed, name) in enumerate(plan):
        recipe = recipes[name]
        say(
            f"\n== {name}, seed {seed} ({index + 1} of {len(plan)}): {recipe.epochs} epochs at most, "
            f"{recipe.optimizer}, lr {recipe.lr:g}, batch {recipe.batch_size} =="
        )
        clock.start(index)
        try:
            result, module = train_one(
                name,
                split,
                recipe,
                device=device,
                seed=seed,
                progress_bar=sys.stderr.isatty(),
                mirror_sum=mirror_sum,
                clock=clock,
                jittered=jittered,
            )
        except interrupts.FitInterrupted as stop:
            card = {
                "network": name,
                **run_card,
                "recipe": asdict(recipe),
                "seed": seed,
                "flip_mirror_sum_px": mirror_sum,
            }
            finished = [r.model_path for r in results if r.model_path]
            interrupts.keep_best_so_far(stop, name, settings.models_dir, card, save_model, say=say, finished=finished)
        if seed == seeds[0]:
            card = model_card(result, run_card)
            result.model_path = str(save_model(Path(settings.models_dir) / f"{name}.pt", name, module, card))
            write_history(Path(settings.models_dir) / f"{name}.history.csv", result.history)
            modules[name] = module
        say(
            f"{name}, seed {seed}: best validation RMSE {result.best_valid_rmse:.3f} px at epoch "
            f"{result.best_epoch} of {result.epochs}, {result.seconds:.0f} s"
            + (f"; saved {result.model_path}" if result.model_path else "")
            + f"; time left for the run about {format_duration(clock.seconds_left())}"
        )
        results.append(result)
    return TrainingRun(
        settings=settings,
        preset=preset,
        networks=networks,
        seeds=seeds,
        device=device,
        data=Path(path),
        synthetic=synthetic,
        split=split,
        baseline=baseline,
        results=results,
        modules=modules,
        jitter=VALIDATION_JITTER,
        seconds=time.perf_counter() - started,
    )


def model_card(result, run_card):
    """The card stored in a model file: what it was trained on, how, and how well.

    ``run_card`` holds what every model of the run shares (data, split, baseline, device, command).
    """
    return {
        "network": result.name,
        **run_card,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "best_valid_rmse_px": round(result.best_valid_rmse, 4),
        "jittered_valid_rmse_px": None if result.jittered_rmse is None else round(result.jittered_rmse, 4),
        "recipe": asdict(result.recipe),
        "training_seconds": round(result.seconds, 1),
        "seed": result.seed,
        "flip_mirror_sum_px": result.mirror_sum,
    }


def write_history(path, history):
    """The epoch table as CSV (epoch, train_rmse, valid_rmse, dur), written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = ["epoch", "train_rmse", "valid_rmse", "dur"]
    with atomic.replacing(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
    return path
