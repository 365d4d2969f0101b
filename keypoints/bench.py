"""``make bench``: speed figures as ratios against baselines measured in the same run.

Each row times our way and a baseline on the same input, one after the other
in this process, so the ratio holds on any machine even though the absolute
times (printed beside it, for information) do not. The figures are also
written to ``reports/bench.json``.
"""

import copy
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from keypoints import paths
from keypoints.data.loader import load_kaggle_csv
from keypoints.data.synthetic import drop_keypoints_like_kaggle
from keypoints.data.writer import write_kaggle_csv

KAGGLE_ROWS = 7049
KAGGLE_COMPLETE = 2140


@dataclass
class BenchRow:
    """One line of the table: ``ours`` against ``baseline``, in seconds (or whatever ``unit`` says)."""

    name: str
    ours: float
    baseline: float
    baseline_name: str
    unit: str = "s"
    higher_is_better: bool = False
    section: str = ""
    details: dict = field(default_factory=dict)
    """Anything else measured alongside (peak memory, settings, the target and whether it is met)."""

    @property
    def ratio(self):
        """How many times better ours is than the baseline (above 1 is better)."""
        if self.higher_is_better:
            return self.ours / self.baseline
        return self.baseline / self.ours


def best_of(function, repeats):
    """Shortest wall time of ``repeats`` calls of ``function``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def write_kaggle_sized_file(path, rows=KAGGLE_ROWS, seed=0):
    """A file shaped like the real ``training.csv``: 7049 rows, 2140 complete (that share), random pixels.

    Random pixels cost nothing to make and parse like real ones (the same
    spread of 1-, 2- and 3-digit values).
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (rows, 1, 96, 96), dtype=np.uint8)
    keypoints = rng.uniform(10, 86, (rows, 30)).round(6)
    keypoints = drop_keypoints_like_kaggle(keypoints, 1 - KAGGLE_COMPLETE / KAGGLE_ROWS, seed=seed)
    return write_kaggle_csv(path, images, keypoints)


def per_row_parse(path):
    """The tutorials' loader: ``read_csv``, then ``np.fromstring`` on each row's ``Image``."""
    frame = pd.read_csv(path)
    images = np.vstack(frame["Image"].apply(lambda text: np.fromstring(text, sep=" ")).to_numpy())
    return images.reshape(-1, 1, 96, 96), frame.drop(columns="Image").to_numpy()


def bench_loading(folder, settings, say=print):
    """First load against the per-row parse, and the cached load against the first load."""
    rows = settings.size("csv_rows")
    path = write_kaggle_sized_file(Path(folder) / "training.csv", rows=rows)
    say(f"loading: made {path.name}, {rows} rows, {path.stat().st_size / 2**20:.0f} MB")
    repeats = 1 if settings.quick else 3
    baseline, (reference, _) = best_of(lambda: per_row_parse(path), 1)
    first, data = best_of(lambda: load_kaggle_csv(path, use_cache=False), repeats)
    if not np.array_equal(data.images.reshape(len(data), -1), reference.reshape(len(reference), -1)):
        raise AssertionError("the vectorised parse and the per-row parse disagree")
    load_kaggle_csv(path)  # fills the cache
    cached, hit = best_of(lambda: load_kaggle_csv(path), repeats * 3)
    assert hit.from_cache
    return [
        BenchRow(f"load {rows}-row CSV, first time", first, baseline, "per-row np.fromstring"),
        BenchRow(f"load {rows}-row CSV, cached", cached, first, "first load"),
    ]


SIZES = {
    # csv_rows: the loading file; train_batch: faces per training batch;
    # train_batches: batches per timed pass; rounds: alternating timed passes
    # of ours and the baseline (the best of each is kept); layer_batch: batch
    # of the layer comparison, broadcast_batch: the broadcast's (its (B, K,
    # D1*F*F, L) product needs 8.9 GB at batch 128); predict_faces: faces in
    # batches of 256, single_faces: faces fed one at a time; photo: the
    # sizes of the two photos; gpu_epochs: training epochs per timed pass on a GPU.
    "default": dict(
        csv_rows=KAGGLE_ROWS,
        train_batch=128,
        train_batches=2,
        rounds=3,
        layer_batch=128,
        broadcast_batch=8,
        predict_batch=256,
        predict_faces=512,
        single_faces=48,
        photos=((640, 480), (4000, 3000)),
        photo_repeats=3,
        gpu_faces=2688,
        gpu_epochs=8,
        time_to_best_faces=3378,
    ),
    "quick": dict(
        csv_rows=KAGGLE_ROWS,
        train_batch=128,
        train_batches=1,
        rounds=1,
        layer_batch=128,
        broadcast_batch=4,
        predict_batch=256,
        predict_faces=256,
        single_faces=16,
        photos=((640, 480), (4000, 3000)),
        photo_repeats=1,
        gpu_faces=2688,
        gpu_epochs=3,
        time_to_best_faces=3378,
    ),
    # for the tests: every row, in seconds; the figures mean nothing
    "tiny": dict(
        csv_rows=120,
        train_batch=8,
        train_batches=1,
        rounds=1,
        layer_batch=4,
        broadcast_batch=2,
        predict_batch=16,
        predict_faces=16,
        single_faces=4,
        photos=((160, 120), (320, 240)),
        photo_repeats=1,
        gpu_faces=16,
        gpu_epochs=1,
        time_to_best_faces=40,
    ),
}

TRAINING_NETWORKS = ("conv", "local")
PREDICTION_NETWORKS = ("bnconv", "conv")
BENCH_LR = 1e-3
"""Peak learning rate of the throughput runs (AdamW with a one-cycle rate, as
the presets train conv and local); the speed does not depend on it."""

BENCH_EPOCHS = 1000
"""Length of the one-cycle schedule in the throughput runs: longer than any run."""

GPU_VARIANTS = ("none", "channels_last", "channels_last,cudagraphs")
"""The speedup settings a GPU bench compares (see :mod:`keypoints.training.speed`). ``cudagraphs``
is ``torch.compile`` with CUDA graphs; ``compile`` alone (no graphs) is left out to keep the GPU
bench within minutes: each compiled variant costs tens of seconds per network."""


@dataclass
class BenchSettings:
    """What ``keypoints bench`` was asked to do.

    Attributes
    ----------
    quick : bool
        The one-minute version.
    device : str
        ``auto`` (CUDA when there is one), ``cpu`` or ``cuda``.
    data : str, optional
        A Kaggle-format training file for the time-to-best rows (GPU only);
        else ``training.csv.gz`` in ``KEYPOINTS_DATA_DIR``, else synthetic faces.
    epochs : int, optional
        Caps the full presets' epochs in the time-to-best rows.
    tiny : bool
        Smallest sizes, for the tests (every row, meaningless figures).
    """

    quick: bool = False
    device: str = "auto"
    data: str = None
    epochs: int = None
    tiny: bool = False
    resolved_device: str = field(default=None, init=False)
    """The device used: set by :func:`run_benchmarks`."""
    throughput: dict = field(default_factory=dict, init=False)
    """Images per second of our trainer by network, from the training rows (for the floor rows)."""
    speedup_winners: dict = field(default_factory=dict, init=False)
    """The fastest speedup setting by network (GPU only)."""

    @property
    def mode(self):
        return "tiny" if self.tiny else "quick" if self.quick else "default"

    def size(self, name):
        return SIZES[self.mode][name]


def synchronize(device):
    """Wait for the device (a no-op on the CPU), so that wall times cover the work."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(function, device):
    """Wall seconds of ``function()``, the device's queued work included."""
    synchronize(device)
    started = time.perf_counter()
    function()
    synchronize(device)
    return time.perf_counter() - started


# -- row 2: training throughput ------------------------------------------------------------------


def random_faces(n, device, seed=0):
    """``n`` random faces as :class:`FaceTensors` on ``device`` (speed does not depend on the pixels)."""
    from keypoints.data.schema import KEYPOINT_COLUMNS
    from keypoints.training.batches import FaceTensors

    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, 96, 96, generator=generator)  # (N, 1, 96, 96)
    keypoints = torch.rand(n, len(KEYPOINT_COLUMNS), generator=generator) * 1.6 - 0.8  # (N, 30)
    return FaceTensors(images, keypoints, KEYPOINT_COLUMNS).to(device)


class PlainLoop:
    """The textbook PyTorch training loop, the baseline of our skorch trainer.

    Same network, data, batch, loss (:class:`MaskedMSELoss`), optimizer and
    schedule (AdamW, one-cycle rate stepped every batch, as the presets train
    ``conv`` and ``local``), autocast and speedups; half of each batch
    mirrored, drawn on the device.

    Parameters
    ----------
    module : torch.nn.Module
    data : FaceTensors
        On ``device``.
    batch_size : int
    device : str
    speedups : tuple of str
    lr : float
    """

    def __init__(self, module, data, batch_size, device, speedups=(), lr=BENCH_LR):
        from keypoints.data.transforms import REAL_FACES_MIRROR_SUM, flip_permutation, scaled_mirror_sum, x_columns
        from keypoints.training.loss import MaskedMSELoss

        self.data, self.batch_size, self.device = data, batch_size, device
        self.channels_last = "channels_last" in speedups
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        self.module = module.to(device, memory_format=memory_format)
        self.forward = self.module
        if "compile" in speedups or "cudagraphs" in speedups:
            self.forward = torch.compile(self.module, mode="reduce-overhead" if "cudagraphs" in speedups else None)
        from keypoints.training.estimator import Recipe

        self.optimizer = torch.optim.AdamW(self.module.parameters(), lr=lr, weight_decay=Recipe(1).weight_decay)
        steps = BENCH_EPOCHS * ((len(data) + batch_size - 1) // batch_size)
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=lr, total_steps=steps, pct_start=0.15
        )
        self.loss = MaskedMSELoss()
        self.autocast = torch.bfloat16 if torch.device(device).type == "cuda" else None
        self.swap = torch.as_tensor(flip_permutation(data.columns), device=device)
        self.is_x = torch.as_tensor(x_columns(data.columns), device=device)
        self.mirror = scaled_mirror_sum(REAL_FACES_MIRROR_SUM)

    def epoch(self):
        """One pass over the data in shuffled batches."""
        self.module.train()
        images, keypoints = self.data.images, self.data.keypoints
        order = torch.randperm(len(images), device=self.device)
        for start in range(0, len(images), self.batch_size):
            index = order[start : start + self.batch_size]
            x, y = images[index], keypoints[index]  # (B, 1, 96, 96), (B, K)
            flip = torch.rand(len(index), device=self.device) < 0.5  # (B,)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            mirrored = y[:, self.swap]
            y = torch.where(flip[:, None], torch.where(self.is_x, self.mirror - mirrored, mirrored), y)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            self.optimizer.zero_grad(set_to_none=True)
            device_type = torch.device(self.device).type
            with torch.autocast(device_type, dtype=self.autocast, enabled=self.autocast is not None):
                out = self.forward(x)
            loss = self.loss(out.float(), y)
            loss.backward()
            self.optimizer.step()
            self.schedule.step()


def our_trainer(module, data, batch_size, device, speedups, lr=BENCH_LR):
    """Our skorch trainer (:func:`make_regressor`), initialised, with a function that runs ``epochs``."""
    from keypoints.training.estimator import Recipe, make_regressor

    batches = (len(data) + batch_size - 1) // batch_size
    recipe = Recipe(epochs=BENCH_EPOCHS, optimizer="adamw", lr=lr, batch_size=batch_size)
    regressor = make_regressor(module, recipe, device=device, batches_per_epoch=batches, verbose=0, speedups=speedups)
    regressor.initialize()
    return regressor, lambda epochs: regressor.partial_fit(data, epochs=epochs)


def training_throughput(name, device, n_faces, batch_size, epochs, rounds, speedups, plain=True, say=print):
    """Images per second of our trainer and of :class:`PlainLoop` on one network, alternating.

    Returns
    -------
    dict
        ``ours`` and ``plain`` (images per second, best pass; ``plain`` None
        when not run), and ``warmup_s``: the first pass of ours (compilation included).
    """
    from keypoints.networks import build_network
    from keypoints.training.speed import resolve_speedups

    chosen = resolve_speedups(speedups, device)
    torch.manual_seed(0)
    module = build_network(name)
    data = random_faces(n_faces, device)
    _, run_ours = our_trainer(copy.deepcopy(module), data, batch_size, device, chosen)
    loop = PlainLoop(copy.deepcopy(module), data, batch_size, device, chosen) if plain else None
    warmup = timed(lambda: run_ours(1), device)
    if loop:
        timed(loop.epoch, device)
    best = {"ours": float("inf"), "plain": float("inf")}
    for _ in range(rounds):
        best["ours"] = min(best["ours"], timed(lambda: run_ours(epochs), device))
        if loop:
            best["plain"] = min(best["plain"], timed(lambda: [loop.epoch() for _ in range(epochs)], device))
    images = n_faces * epochs
    result = {
        "ours": images / best["ours"],
        "plain": images / best["plain"] if loop else None,
        "warmup_s": warmup,
        "speedups": ",".join(chosen) or "none",
    }
    say(
        f"training {name} on {device} ({result['speedups']}): ours {result['ours']:,.0f} img/s"
        + (f", plain loop {result['plain']:,.0f} img/s" if loop else "")
    )
    return result


def bench_training(folder, settings, say=print):
    """Row 2: our skorch trainer against the plain loop, batch 128, conv and local."""
    device = settings.resolved_device
    batch = settings.size("train_batch")
    on_gpu = device == "cuda"
    n_faces = settings.size("gpu_faces") if on_gpu else batch * settings.size("train_batches")
    epochs = settings.size("gpu_epochs") if on_gpu else 1
    rows = []
    for name in TRAINING_NETWORKS:
        result = training_throughput(name, device, n_faces, batch, epochs, settings.size("rounds"), None, say=say)
        ratio = result["ours"] / result["plain"]
        rows.append(
            BenchRow(
                f"train {name}, batch {batch}, {device}: skorch trainer",
                result["ours"],
                result["plain"],
                "plain PyTorch loop",
                unit="img/s",
                higher_is_better=True,
                section="training",
                details={
                    "target": "ratio >= 0.9 (within 10% of the plain loop)",
                    "meets_target": ratio >= 0.9,
                    "faces": n_faces,
                    "epochs_per_pass": epochs,
                    "speedups": result["speedups"],
                },
            )
        )
        settings.throughput[name] = result["ours"]
    return rows


# -- row 3: the locally-connected layer ----------------------------------------------------------

LAYER_SHAPE = dict(in_channels=32, out_channels=64, kernel_size=2, input_size=47)
"""Block 2 of ``local``: (B, 32, 47, 47) -> (B, 64, 46, 46)."""


def layer_case(kind, batch, device="cpu", repeats=3):
    """Forward and backward of one layer implementation: best seconds and peak extra memory.

    Parameters
    ----------
    kind : str
        ``local`` (:class:`LocallyConnected2d`), ``broadcast``
        (:func:`broadcast_locally_connected` with the same weights) or ``conv``
        (``nn.Conv2d`` of the same shape).
    batch : int
    device : str
    repeats : int

    Returns
    -------
    dict
        ``seconds`` (best of ``repeats``) and ``peak_mib``: memory above what
        the inputs and weights hold, at the highest point of a forward and
        backward (CUDA: ``max_memory_allocated``; CPU: the process's peak
        resident size, reset after the set-up, so call it in a fresh process,
        as :func:`layer_case_in_subprocess` does).
    """
    from keypoints.networks import LocallyConnected2d, broadcast_locally_connected

    torch.manual_seed(0)
    shape = LAYER_SHAPE
    x = torch.rand(
        batch, shape["in_channels"], shape["input_size"], shape["input_size"], device=device, requires_grad=True
    )  # (B, 32, 47, 47)
    if kind == "conv":
        layer = torch.nn.Conv2d(shape["in_channels"], shape["out_channels"], shape["kernel_size"]).to(device)
        forward = layer
    else:
        layer = LocallyConnected2d(**shape).to(device)
        forward = layer
        if kind == "broadcast":
            forward = lambda x: broadcast_locally_connected(x, layer.weight, layer.bias, shape["kernel_size"])  # noqa: E731
        elif kind != "local":
            raise ValueError(f"unknown layer case {kind!r}")

    def step():
        x.grad = None
        layer.zero_grad(set_to_none=True)
        forward(x).sum().backward()  # (B, 64, 46, 46) -> scalar

    on_cuda = torch.device(device).type == "cuda"
    synchronize(device)
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = _reset_peak_rss()
    best = min(timed(step, device) for _ in range(repeats))
    peak = torch.cuda.max_memory_allocated() if on_cuda else _peak_rss()
    return {"seconds": best, "peak_mib": (peak - before) / 2**20}


def _reset_peak_rss():
    """Reset the process's peak resident size where Linux allows it; the current size in bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak (VmHWM) to the current size
    except OSError:
        pass  # ru_maxrss then starts from the highest point so far: an under-estimate, never an over-estimate
    return _proc_status("VmRSS")


def _peak_rss():
    try:
        return _proc_status("VmHWM")
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _proc_status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def layer_case_in_subprocess(kind, batch, device="cpu", repeats=3):
    """:func:`layer_case` in a fresh Python process, so that its peak memory is its own."""
    code = (
        f"import json; from keypoints.bench import layer_case; "
        f"print(json.dumps(layer_case({kind!r}, {batch}, {device!r}, {repeats})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())},
    )
    if done.returncode != 0:
        raise RuntimeError(f"layer case {kind} (batch {batch}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_local_layer(folder, settings, say=print):
    """Row 3: LocallyConnected2d against the broadcast version and against Conv2d, time and memory."""
    device = settings.resolved_device
    batch = settings.size("layer_batch")
    # on a GPU the broadcast fits at the full batch (about 27 GB at its peak)
    small = batch if device == "cuda" else settings.size("broadcast_batch")
    repeats = 1 if settings.quick or settings.tiny else 3
    measure = layer_case if device == "cuda" else layer_case_in_subprocess
    cases = {
        key: measure(kind, b, device, repeats)
        for key, kind, b in (
            ("local", "local", batch),
            ("conv", "conv", batch),
            ("local_small", "local", small),
            ("broadcast", "broadcast", small),
        )
    }
    for key, case in cases.items():
        say(f"layer {key}: {case['seconds'] * 1000:.1f} ms, peak {case['peak_mib']:.0f} MiB")
    shape = "32->64 ch, 2x2, 47x47 in"
    scale = batch / small
    note = "" if small == batch else f" (measured at batch {small}, time scaled to {batch})"
    product_gb = batch * 64 * 32 * 4 * 46 * 46 * 4 / 1e9
    return [
        BenchRow(
            f"LocallyConnected2d fwd+bwd, batch {batch}, {shape}",
            cases["local"]["seconds"],
            cases["broadcast"]["seconds"] * scale,
            "broadcast version" + note,
            section="local layer",
            details={"broadcast_product_gb_at_full_batch": round(product_gb, 1)},
        ),
        BenchRow(
            f"LocallyConnected2d fwd+bwd, batch {batch}: vs Conv2d",
            cases["local"]["seconds"],
            cases["conv"]["seconds"],
            "nn.Conv2d, same shape",
            section="local layer",
        ),
        BenchRow(
            f"peak memory, batch {small}: LocallyConnected2d",
            cases["local_small"]["peak_mib"],
            cases["broadcast"]["peak_mib"],
            "broadcast version",
            unit="MiB",
            section="local layer",
        ),
        BenchRow(
            f"peak memory, batch {batch}: LocallyConnected2d",
            cases["local"]["peak_mib"],
            cases["conv"]["peak_mib"],
            "nn.Conv2d, same shape",
            unit="MiB",
            section="local layer",
        ),
    ]


# -- row 4: prediction ---------------------------------------------------------------------------


def bench_prediction(folder, settings, say=print):
    """Row 4: faces per second in batches of 256 against one face at a time."""
    from keypoints.inference import predict_pixels
    from keypoints.networks import build_network

    device = settings.resolved_device
    autocast = torch.bfloat16 if device == "cuda" else None
    batch, n_batched, n_single = (settings.size(k) for k in ("predict_batch", "predict_faces", "single_faces"))
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (n_batched, 1, 96, 96), dtype=np.uint8)
    rows = []
    for name in PREDICTION_NETWORKS:
        torch.manual_seed(0)
        module = build_network(name).to(device).eval()
        predict_pixels(module, faces[:batch], device=device, batch_size=batch, autocast_dtype=autocast)  # warm-up
        ours = timed(
            lambda: predict_pixels(module, faces, device=device, batch_size=batch, autocast_dtype=autocast), device
        )
        _one_at_a_time(module, faces[:2], device)  # warm-up
        one_by_one = timed(lambda: _one_at_a_time(module, faces[:n_single], device), device)
        rows.append(
            BenchRow(
                f"predict {name}, batches of {batch}, {device}",
                n_batched / ours,
                n_single / one_by_one,
                "one face at a time",
                unit="faces/s",
                higher_is_better=True,
                section="prediction",
            )
        )
    return rows + bench_photos(folder, settings, say)


@torch.no_grad()
def _one_at_a_time(module, faces, device):
    """The tutorials' prediction loop: one face per forward pass."""
    from keypoints.data.transforms import scale_images

    return [module(torch.from_numpy(scale_images(face[None])).to(device)).cpu() for face in faces]


def bench_photos(folder, settings, say=print):
    """Milliseconds per photo end to end (read, detect, predict, draw) with the predictor's entry point.

    The baseline is the naive way's detection alone: OpenCV's cascade, with
    the predictor's settings, run on the whole photo at its own size (no
    resizing), after reading it. It leaves out prediction and drawing, so it
    flatters the baseline.
    """
    try:
        from keypoints.predict import detect
        from keypoints.predict.pipeline import load_predictor_model, predict_file
    except ImportError as error:  # the predictor is built in its own issue
        say(f"photos: skipped, the predictor is not there ({error})")
        return []
    import cv2

    model = load_predictor_model(_bench_model(folder))
    source = _photo_source()
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / detect.CASCADE_FILE))
    min_face = getattr(detect, "MIN_FACE", 24)

    def naive(path):
        gray = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)
        return cascade.detectMultiScale(
            gray,
            scaleFactor=getattr(detect, "SCALE_FACTOR", 1.1),
            minNeighbors=getattr(detect, "MIN_NEIGHBORS", 5),
            minSize=(min_face, min_face),
        )

    rows = []
    detector = detect.FaceDetector()
    for width, height in settings.size("photos"):
        path = Path(folder) / f"photo_{width}x{height}.jpg"
        cv2.imwrite(str(path), cv2.resize(source, (width, height), interpolation=cv2.INTER_CUBIC))
        found = len(predict_file(path, model, detector).faces)  # warm-up, and the faces found
        repeats = settings.size("photo_repeats")
        ours, _ = best_of(lambda: predict_file(path, model, detector), repeats)
        baseline, _ = best_of(lambda: naive(path), 1)
        say(f"photo {width}x{height}: {ours * 1000:.0f} ms per photo, {found} face(s)")
        rows.append(
            BenchRow(
                f"photo {width}x{height} end to end ({found} face(s))",
                ours,
                baseline,
                "read + cascade on the full-size photo",
                section="prediction",
                details={"faces_found": found, "model": model.network.name},
            )
        )
    return rows


def _bench_model(folder):
    """The predictor's default model when there is one, else an untrained bnconv (same speed)."""
    from keypoints.checkpoint import save_model
    from keypoints.networks import build_network

    if paths.DEFAULT_MODEL.is_file():
        return paths.DEFAULT_MODEL
    torch.manual_seed(0)
    return save_model(Path(folder) / "bnconv.pt", "bnconv", build_network("bnconv"), {"note": "untrained, bench"})


def _photo_source():
    """A photo with a face: the first of the shared photos when KEYPOINTS_DATA_DIR is set, else a synthetic face."""
    import cv2

    data_dir = os.environ.get("KEYPOINTS_DATA_DIR")
    if data_dir:
        photos = sorted((Path(data_dir).parent / "photos").glob("*.jpg"))
        if photos:
            return cv2.imread(str(photos[0]))
    from keypoints.data.synthetic import generate_faces

    images, _ = generate_faces(1, seed=0)
    face = cv2.resize(images[0, 0], (240, 240), interpolation=cv2.INTER_CUBIC)
    photo = np.full((480, 640), 128, np.uint8)
    photo[120:360, 200:440] = face
    return cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR)


# -- the GPU rows and the arithmetic floor -------------------------------------------------------


def flops_per_face(name):
    """Floating-point operations of one face: a training step (forward and backward) and a prediction.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` on the ``meta``
    device (shapes only, nothing computed), at batch 128.

    Returns
    -------
    tuple of (float, float)
    """
    from torch.utils.flop_counter import FlopCounterMode

    from keypoints.networks import build_network
    from keypoints.training.loss import MaskedMSELoss

    batch = 128
    with torch.device("meta"):
        module = build_network(name)
        x, y = torch.empty(batch, 1, 96, 96), torch.empty(batch, 30)  # (B, 1, 96, 96), (B, 30)
    with FlopCounterMode(display=False) as train:
        MaskedMSELoss()(module(x), y).backward()
    with FlopCounterMode(display=False) as predict, torch.no_grad():
        module.eval()(x)
    return train.get_total_flops() / batch, predict.get_total_flops() / batch


def matmul_rate(device, size=None):
    """Floating-point operations per second of a large matrix product: bf16 on CUDA, float32 on the CPU."""
    cuda = torch.device(device).type == "cuda"
    size = size or (8192 if cuda else 1024)
    dtype = torch.bfloat16 if cuda else torch.float32
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    repeats = 20 if cuda else 3
    a @ b  # warm-up
    best = min(timed(lambda: [a @ b for _ in range(repeats)], device) for _ in range(3)) / repeats
    return 2 * size**3 / best


def bench_floor(folder, settings, say=print):
    """How far the training throughput is from the arithmetic floor: FLOPs over the matmul rate."""
    device = settings.resolved_device
    rate = matmul_rate(device, size=256 if settings.tiny else None)
    say(f"matrix product: {rate / 1e12:.2f} TFLOP/s ({'bf16' if device == 'cuda' else 'float32'}, {device})")
    rows = []
    for name in TRAINING_NETWORKS:
        train, _ = flops_per_face(name)
        achieved = settings.throughput.get(name)
        if not achieved:
            continue
        floor = rate / train  # images per second if every FLOP ran at the matmul rate
        rows.append(
            BenchRow(
                f"train {name}: throughput vs the arithmetic floor",
                achieved,
                floor,
                "FLOPs / matmul rate",
                unit="img/s",
                higher_is_better=True,
                section="floor",
                details={
                    "train_flops_per_face": train,
                    "matmul_flops_per_s": rate,
                    "fraction_of_floor": achieved / floor,
                },
            )
        )
    return rows


def bench_gpu(folder, settings, say=print):
    """GPU only: the speedup variants, and the time to the best validation RMSE with the full preset."""
    if settings.resolved_device != "cuda":
        return []
    rows = speedup_rows(settings, GPU_VARIANTS, say)
    return rows + bench_time_to_best(settings, settings.speedup_winners, say)


def speedup_rows(settings, variants, say=print, networks=TRAINING_NETWORKS):
    """Training throughput of our trainer with each speedup setting, against none; sets the winners."""
    device = settings.resolved_device
    batch = settings.size("train_batch")
    rows, winners = [], {}
    for name in networks:
        results = {}
        for variant in variants:
            try:
                results[variant] = training_throughput(
                    name,
                    device,
                    settings.size("gpu_faces"),
                    batch,
                    settings.size("gpu_epochs"),
                    settings.size("rounds"),
                    variant,
                    plain=False,
                    say=say,
                )
            except Exception as error:  # noqa: BLE001 - a variant that fails to compile is reported, not fatal
                say(f"training {name} with {variant}: failed ({type(error).__name__}: {error})")
        if "none" not in results:
            continue
        winner = max(results, key=lambda v: results[v]["ours"])
        winners[name] = winner
        for variant, result in results.items():
            if variant == "none":
                continue
            rows.append(
                BenchRow(
                    f"train {name} on GPU: speedups {variant}",
                    result["ours"],
                    results["none"]["ours"],
                    "no speedups",
                    unit="img/s",
                    higher_is_better=True,
                    section="gpu",
                    details={"warmup_s": result["warmup_s"], "winner": winner},
                )
            )
    settings.speedup_winners = winners
    return rows


def bench_time_to_best(settings, winners, say=print, networks=TRAINING_NETWORKS):
    """Seconds to train ``conv`` and ``local`` with the full preset to their best validation RMSE."""
    from keypoints.networks import build_network
    from keypoints.training.estimator import make_regressor
    from keypoints.training.presets import recipe_for
    from keypoints.training.trainer import face_tensors

    device = settings.resolved_device
    prepared, source = _time_to_best_data(settings, say)
    rows = []
    for name in networks:
        recipe = recipe_for(name, "full", settings.epochs)
        torch.manual_seed(0)
        train_set = face_tensors(prepared.train_images, prepared.train_keypoints, device)
        valid_set = face_tensors(prepared.valid_images, prepared.valid_keypoints, device)
        batches = (len(train_set) + recipe.batch_size - 1) // recipe.batch_size
        speedups = winners.get(name)
        regressor = make_regressor(
            build_network(name),
            recipe,
            valid_set=valid_set,
            device=device,
            batches_per_epoch=batches,
            verbose=0,
            speedups=speedups,
        )
        started = time.perf_counter()
        regressor.fit(train_set, y=None)
        total = time.perf_counter() - started
        history = list(regressor.history)
        best = min(range(len(history)), key=lambda i: history[i]["valid_rmse"])
        to_best = sum(row["dur"] for row in history[: best + 1])
        say(
            f"{name}: best validation RMSE {history[best]['valid_rmse']:.3f} px at epoch {best + 1} "
            f"after {to_best:.1f} s ({len(history)} epochs, {total:.1f} s in all; speedups {speedups})"
        )
        target = 60.0 if name == "conv" else 180.0
        rows.append(
            BenchRow(
                f"{name}: full preset to its best validation RMSE",
                to_best,
                target,
                "target on one H200",
                section="gpu",
                details={
                    "best_valid_rmse_px": history[best]["valid_rmse"],
                    "best_epoch": best + 1,
                    "epochs_run": len(history),
                    "epochs_planned": recipe.epochs,
                    "total_s": total,
                    "data": source,
                    "speedups": speedups,
                    "meets_target": to_best <= target,
                },
            )
        )
    return rows


def _time_to_best_data(settings, say):
    """The faces of the time-to-best rows: --data, else KEYPOINTS_DATA_DIR's training file, else synthetic."""
    from keypoints.data.schema import KEYPOINT_COLUMNS
    from keypoints.data.synthetic import generate_faces
    from keypoints.training.trainer import TrainValidSplit, prepare

    path = settings.data
    if not path and os.environ.get("KEYPOINTS_DATA_DIR"):
        path = paths.find_training_file(os.environ["KEYPOINTS_DATA_DIR"])
    if path:
        return prepare(path, say=say), str(path)
    n = settings.size("time_to_best_faces")
    images, keypoints = generate_faces(n, seed=0)
    cut = int(n * 0.8)
    say(f"time to best: no data given (--data or KEYPOINTS_DATA_DIR), so {n} synthetic faces")
    return TrainValidSplit(
        source=None,
        sha256="",
        columns=KEYPOINT_COLUMNS,
        synthetic=True,
        train_images=images[:cut],
        train_keypoints=keypoints[:cut],
        valid_images=images[cut:],
        valid_keypoints=keypoints[cut:],
        split=f"first {cut} / last {n - cut}",
    ), f"synthetic ({n} faces)"


SECTIONS = {
    "loading": bench_loading,
    "training": bench_training,
    "local layer": bench_local_layer,
    "prediction": bench_prediction,
    "floor": bench_floor,
    "gpu": bench_gpu,
}
"""Benchmark sections in the order they run; each returns a list of BenchRow."""


def run_benchmarks(quick=False, out=None, say=print, settings=None):
    """Run every section, print the table, and write ``reports/bench.json``.

    Parameters
    ----------
    quick : bool
    out : str or Path, optional
        Default ``reports/bench.json``.
    say : callable
    settings : BenchSettings, optional
        Overrides ``quick``.

    Returns
    -------
    list of BenchRow
    """
    from keypoints.training.estimator import choose_device

    settings = settings or BenchSettings(quick=quick)
    settings.resolved_device = choose_device(settings.device)
    out = Path(out or paths.REPORTS_DIR / "bench.json")
    say(f"keypoints bench ({settings.mode}) on {settings.resolved_device}, {torch.get_num_threads()} threads")
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="keypoints-bench-") as folder:
        for name, section in SECTIONS.items():
            rows += section(folder, settings, say=say)
    seconds = time.perf_counter() - started
    say("")
    say(format_table(rows))
    record = {
        "quick": settings.quick,
        "mode": settings.mode,
        "device": settings.resolved_device,
        "seconds": seconds,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        },
        "speedup_winners": settings.speedup_winners,
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    say(f"\n{len(rows)} rows in {seconds:.0f} s; written to {out}")
    return rows


def format_table(rows):
    """The rows as an aligned text table, ratio first."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'benchmark':{width}}  {'ratio':>8}  {'ours':>12}  {'baseline':>12}  baseline is"]
    for r in rows:
        ratio = f"{r.ratio:7.1f}x" if r.ratio >= 10 else f"{r.ratio:7.2f}x" if r.ratio >= 0.1 else f"{r.ratio:7.4f}x"
        lines.append(
            f"{r.name:{width}}  {ratio}  {_amount(r.ours, r.unit):>12}  "
            f"{_amount(r.baseline, r.unit):>12}  {r.baseline_name}"
        )
    return "\n".join(lines)


def _amount(value, unit):
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"
