"""``keypoints train``: train the chosen networks over several seeds, on one split or one split per seed, and save them.

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
from datetime import UTC, datetime
from pathlib import Path

import torch

from keypoints import atomic
from keypoints.data.prepared import TrainValidSplit, file_sha256, prepare
from keypoints.data.transforms import (
    MIRROR_SUM,
    REAL_FACES_MIRROR_SUM,
    scale_images,
    scale_keypoints,
    unscale_images,
    unscale_keypoints,
)
from keypoints.errors import KeypointsError
from keypoints.measure.metrics import rmse_per_keypoint, seconds_per_face
from keypoints.model.checkpoint import save_model
from keypoints.model.inference import predict_pixels
from keypoints.networks import build_network, get_network
from keypoints.training import interrupts
from keypoints.training.announce import announce, epochs_text, recipe_words, run_versions
from keypoints.training.augment import draw_jitter, jitter_faces
from keypoints.training.callbacks import RunClock, format_duration
from keypoints.training.cards import model_card, run_card
from keypoints.training.estimator import choose_device, make_regressor
from keypoints.training.faces import SYNTHETIC_FACES, face_tensors, mean_baseline, resolve_data
from keypoints.training.memory import training_memory_bytes
from keypoints.training.presets import (
    VALIDATION_JITTER,
    VALIDATION_JITTER_SEED,
    preset_for_data,
    recipe_for,
    splits_per_seed,
)
from keypoints.training.settings import TrainSettings
from keypoints.training.sources import held_out_people, per_source_scores, prepare_sources

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
    n_train: int = None
    n_valid: int = None
    per_source: dict = None


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
        The first seed's split (the only one unless the preset draws one per seed).
    baseline : tuple of (float, dict)
        RMSE of predicting the training mean, overall and per keypoint, on the first split.
    results : list of NetworkResult
        One per network and seed.
    modules : dict of str to torch.nn.Module
        The saved model of each network (its first seed).
    jitter : tuple of float
        ``(degrees, scale, pixels)`` of the jittered validation faces.
    seconds : float
        Wall time of the whole run (so far, while it runs).
    splits : dict of int to dict
        Per training seed: ``split`` (in words), ``n_train``, ``n_valid`` and ``baseline_rmse`` of its split.
    split_per_seed : bool
        Whether every seed drew its own split (else all share the split of ``settings.seed``).
    threads : int
        Torch's CPU threads during training.
    started : str
        When the run began, ISO 8601 in UTC.
    versions : dict of str to str
        Python, torch and the machine, for the reproducibility figures.
    finished : bool
        False while the run is under way (a record written after each network says how far it got).
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
    splits: dict = field(default_factory=dict)
    split_per_seed: bool = False
    threads: int = None
    started: str = None
    versions: dict = field(default_factory=dict)
    finished: bool = False

    def results_of(self, name):
        """The results of one network, in seed order."""
        return [r for r in self.results if r.name == name]

    def command(self):
        """The command that repeats the run, naming the data file without the machine's path to it."""
        data = self.settings.data
        if data:
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
    if mirror_sum is None:
        mirror_sum = default_mirror_sum(prepared.synthetic)
    train_set = face_tensors(prepared.train_images, prepared.train_keypoints, device)
    valid_set = face_tensors(prepared.valid_images, prepared.valid_keypoints, device)
    regressor = make_regressor(
        build_network(name),
        recipe,
        valid_set=valid_set,
        device=device,
        seed=seed,
        batches_per_epoch=(len(train_set) + recipe.batch_size - 1) // recipe.batch_size,
        verbose=verbose,
        progress_bar=progress_bar,
        mirror_sum=mirror_sum,
        clock=clock,
        speedups=speedups,
    )
    seconds = _fit(regressor, train_set, device)
    history = epoch_table(regressor.history)
    best = _kept_epoch(history)
    module = regressor.module_
    scores = _score(module, prepared, jittered, device, regressor.autocast_dtype)
    network = get_network(name)
    result = NetworkResult(
        name=name,
        description=network.description,
        params=sum(p.numel() for p in module.parameters()),
        epochs=len(history),
        best_epoch=best["epoch"],
        seconds=seconds,
        best_valid_rmse=best["valid_rmse"],
        history=history,
        train_memory_mb=training_memory_bytes(network, recipe.batch_size, recipe.optimizer)["total"] / 2**20,
        peak_gpu_mb=torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
        recipe=recipe,
        mirror_sum=mirror_sum,
        seed=seed,
        n_train=len(prepared.train_images),
        n_valid=len(prepared.valid_images),
        **scores,
    )
    return result, module


def _fit(regressor, train_set, device):
    """Train; returns the seconds it took (the GPU's peak memory is counted from here)."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    regressor.fit(train_set, y=None)
    return time.perf_counter() - started


def epoch_table(history):
    """The epochs of a skorch history as plain rows: epoch, train_rmse, valid_rmse, dur, and best and lr where
    recorded."""
    keys = ("epoch", "train_rmse", "valid_rmse", "dur", "best", "lr")
    return [{k: row[k] for k in keys if k in row} for row in history]


def _kept_epoch(history):
    """The row of the epoch whose weights early stopping keeps: the last marked best (a gain of at least the
    recipe's ``min_gain``), else the lowest validation RMSE."""
    marked = [row for row in history if row.get("best")]
    return marked[-1] if marked else min(history, key=lambda row: row["valid_rmse"])


def _score(module, prepared, jittered, device, autocast):
    """The validation RMSE of a trained module (overall, per keypoint; on the jittered faces too) and its speed."""
    predicted = predict_pixels(module, prepared.valid_images, device=device, autocast_dtype=autocast)
    overall, per_keypoint = rmse_per_keypoint(predicted, prepared.valid_keypoints, prepared.columns)
    scores = dict(valid_rmse=overall, per_keypoint=per_keypoint, jittered_rmse=None, jittered_per_keypoint=None)
    if jittered is not None:
        moved = predict_pixels(module, jittered[0], device=device, autocast_dtype=autocast)
        scores["jittered_rmse"], scores["jittered_per_keypoint"] = rmse_per_keypoint(
            moved, jittered[1], prepared.columns
        )
    scores["per_source"] = per_source_scores(predicted, prepared) or None
    scores["ms_per_face"] = 1000 * seconds_per_face(module, device=device, autocast_dtype=autocast)
    return scores


class _Splits:
    """The split of each training seed, made when first asked for: one for all seeds, or one per seed."""

    def __init__(self, path, settings, synthetic, per_seed, mirror_sum, say):
        self.path, self.settings, self.synthetic, self.per_seed = path, settings, synthetic, per_seed
        self.mirror_sum, self.say = mirror_sum, say
        self._made = {}

    def of(self, seed):
        """``(split, jittered validation faces, mean baseline)`` of training seed ``seed``."""
        key = seed if self.per_seed else self.settings.seed
        if key not in self._made:
            settings = self.settings
            if settings.photos:
                data = [self.path] if self.path else []
                split = prepare_sources(
                    data,
                    settings.photos,
                    settings.valid_fraction,
                    key,
                    settings.skip_bad_rows,
                    self.say,
                    move=settings.move_labels,
                    held_out=held_out_people(settings.hold_out) if settings.hold_out else None,
                )
            else:
                split = prepare(
                    self.path, settings.valid_fraction, key, settings.skip_bad_rows, self.synthetic, say=self.say
                )
            baseline = mean_baseline(split)
            self.say(f"split of seed {key}: {split.split}; mean baseline {baseline[0]:.3f} px")
            # seeds run one after another: only the current seed's faces are kept
            self._made = {key: (split, jittered_validation(split, self.mirror_sum), baseline)}
        return self._made[key]


def train_networks(settings, say=print, on_result=None):
    """Everything ``keypoints train`` does but the report: train every network with every seed, save them.

    Each network's first seed is saved as ``<models_dir>/<net>.pt`` with its epoch table beside it
    (``<net>.history.csv``). ``settings`` is left as it was.

    Parameters
    ----------
    settings : TrainSettings
    say : callable
    on_result : callable, optional
        ``on_result(run)`` after every network and seed, with the run so far (``finished`` False), and once
        more at the end: a record written there keeps what a run cut short had finished.

    Returns
    -------
    TrainingRun
    """
    started = time.perf_counter()
    device = _check_request(settings)
    say("keypoints train")
    path, synthetic = (None, False) if settings.photos and not settings.data else resolve_data(settings.data, say=say)
    preset = preset_for_data(settings.preset, synthetic)
    if preset != settings.preset:
        say(f"NOTICE: the synthetic faces train with the short {preset!r} preset (under 3 minutes).")
    networks, seeds = settings.networks(preset), settings.seed_list(preset)
    recipes = {name: recipe_for(name, preset, settings.epochs) for name in networks}
    mirror_sum = settings.mirror_sum if settings.mirror_sum is not None else default_mirror_sum(synthetic)
    resolved = dict(data=path, nets=networks, epochs=epochs_text(recipes), preset=preset, seeds=seeds)
    announce({**asdict(settings), **resolved, "mirror_sum": mirror_sum}, device, say)
    splits = _Splits(path, settings, synthetic, splits_per_seed(preset), mirror_sum, say)
    split, _, baseline = splits.of(seeds[0])
    say(f"data: {path or ', '.join(s['name'] for s in split.sources)} (sha256 {split.sha256[:12]}...)")
    run = TrainingRun(
        settings=settings,
        preset=preset,
        networks=networks,
        seeds=seeds,
        device=device,
        data=Path(path or split.source),
        synthetic=synthetic,
        split=split,
        baseline=baseline,
        results=[],
        split_per_seed=splits.per_seed,
        threads=torch.get_num_threads(),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        versions=run_versions(),
    )
    shared = run_card(run, settings.valid_fraction)
    # seeds outside, networks inside: a run cut short still holds complete pairs
    plan = [(seed, name) for seed in seeds for name in networks]
    clock = RunClock([(name, recipes[name].epochs) for _, name in plan])
    say(f"plan: {', '.join(networks)} x seeds {', '.join(map(str, seeds))} = {len(plan)} training runs")
    for index, (seed, name) in enumerate(plan):
        split, jittered, baseline = splits.of(seed)
        run.splits[seed] = dict(
            split=split.split,
            n_train=len(split.train_images),
            n_valid=len(split.valid_images),
            baseline_rmse=baseline[0],
        )
        say(f"\n== {name}, seed {seed} ({index + 1} of {len(plan)}): {recipe_words(recipes[name])} ==")
        clock.start(index)
        result = _train_step(run, name, seed, recipes[name], split, jittered, mirror_sum, clock, shared, say)
        run.results.append(result)
        run.seconds = time.perf_counter() - started
        if on_result is not None:
            on_result(run)
    run.finished = True
    if on_result is not None:
        on_result(run)
    return run


def _check_request(settings):
    """The device to train on; an unknown network or an unwritable output folder fails here, before any work."""
    device = choose_device(settings.device)
    if settings.nets is not None and not settings.nets:
        raise KeypointsError("no network to train: --nets names none; give one or more, as in --nets conv,local")
    for name in settings.networks():
        get_network(name)
    atomic.check_output_folder(settings.models_dir, "--models-dir")
    atomic.check_output_folder(settings.reports_dir, "--reports-dir")
    return device


def _train_step(run, name, seed, recipe, split, jittered, mirror_sum, clock, shared, say):
    """Train one network with one seed; save the first seed's model. Ctrl-C keeps the best weights so far."""
    settings = run.settings
    try:
        result, module = train_one(
            name,
            split,
            recipe,
            device=run.device,
            seed=seed,
            progress_bar=sys.stderr.isatty(),
            mirror_sum=mirror_sum,
            clock=clock,
            jittered=jittered,
        )
    except interrupts.FitInterrupted as stop:
        card = model_card(name, recipe, seed, mirror_sum, shared)
        finished = [r.model_path for r in run.results if r.model_path]
        interrupts.keep_best_so_far(stop, name, settings.models_dir, card, save_model, say=say, finished=finished)
    if seed == run.seeds[0]:
        card = model_card(name, recipe, seed, mirror_sum, shared, result)
        result.model_path = str(save_model(Path(settings.models_dir) / f"{name}.pt", name, module, card))
        write_history(Path(settings.models_dir) / f"{name}.history.csv", result.history)
        run.modules[name] = module
    say(
        f"{name}, seed {seed}: best validation RMSE {result.best_valid_rmse:.3f} px at epoch "
        f"{result.best_epoch} of {result.epochs}, {result.seconds:.0f} s"
        + (f"; saved {result.model_path}" if result.model_path else "")
        + f"; time left for the run about {format_duration(clock.seconds_left())}"
    )
    return result


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
