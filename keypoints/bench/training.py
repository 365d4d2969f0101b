"""Training throughput: our skorch trainer against the textbook PyTorch loop, same net, data, loss and flips."""

import copy

import torch

from keypoints.bench.settings import TRAINING_NETWORKS
from keypoints.bench.table import BenchRow
from keypoints.bench.timing import timed
from keypoints.data.schema import KEYPOINT_COLUMNS
from keypoints.data.transforms import MIRROR_SUM, flip_permutation, scaled_mirror_sum, x_columns
from keypoints.networks import build_network
from keypoints.training.batches import FaceTensors
from keypoints.training.estimator import Recipe, make_regressor
from keypoints.training.loss import MaskedMSELoss
from keypoints.training.speed import resolve_speedups

BENCH_LR = 1e-3
"""Peak learning rate of the throughput runs (AdamW with a one-cycle rate, as
the presets train conv and local); the speed does not depend on it."""

BENCH_EPOCHS = 1000
"""Length of the one-cycle schedule in the throughput runs: longer than any run."""

PLAIN_LOOP_TARGET = 0.9
"""Our trainer should reach this fraction of the plain loop's images per second (within 10 %)."""


def random_faces(n, device, seed=0):
    """``n`` random faces as :class:`FaceTensors` on ``device`` (speed does not depend on the pixels)."""
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
        self.data, self.batch_size, self.device = data, batch_size, device
        self.channels_last = "channels_last" in speedups
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        self.module = module.to(device, memory_format=memory_format)
        self.forward = self.module
        if "compile" in speedups or "cudagraphs" in speedups:
            self.forward = torch.compile(self.module, mode="reduce-overhead" if "cudagraphs" in speedups else None)
        self.optimizer = torch.optim.AdamW(self.module.parameters(), lr=lr, weight_decay=Recipe(1).weight_decay)
        steps = BENCH_EPOCHS * ((len(data) + batch_size - 1) // batch_size)
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=lr, total_steps=steps, pct_start=0.15
        )
        self.loss = MaskedMSELoss()
        self.autocast = torch.bfloat16 if torch.device(device).type == "cuda" else None
        self.swap = torch.as_tensor(flip_permutation(data.columns), device=device)
        self.is_x = torch.as_tensor(x_columns(data.columns), device=device)
        self.mirror = scaled_mirror_sum(MIRROR_SUM)  # the mirror make_regressor flips about by default

    def epoch(self):
        """One pass over the data in shuffled batches."""
        self.module.train()
        images, keypoints = self.data.images, self.data.keypoints
        order = torch.randperm(len(images), device=self.device)
        device_type = torch.device(self.device).type
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
            with torch.autocast(device_type, dtype=self.autocast, enabled=self.autocast is not None):
                out = self.forward(x)  # (B, K)
            loss = self.loss(out.float(), y)
            loss.backward()
            self.optimizer.step()
            self.schedule.step()


def our_trainer(module, data, batch_size, device, speedups, lr=BENCH_LR):
    """Our skorch trainer (:func:`make_regressor`), initialised, and a function that runs ``epochs`` passes."""
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
        when not run), ``warmup_s``: the first pass of ours (compilation
        included), and ``speedups``: the settings used.
    """
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


def bench_training(settings, device, say=print, networks=TRAINING_NETWORKS):
    """Our skorch trainer against the plain loop, batch 128, ``conv`` and ``local``.

    Returns
    -------
    list of BenchRow
        One per network; ``details["network"]`` names it.
    """
    batch = settings.size("train_batch")
    on_gpu = device == "cuda"
    n_faces = settings.size("gpu_faces") if on_gpu else batch * settings.size("train_batches")
    epochs = settings.size("gpu_epochs") if on_gpu else 1
    rows = []
    for name in networks:
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
                    "network": name,
                    "target": f"ratio >= {PLAIN_LOOP_TARGET} (within {1 - PLAIN_LOOP_TARGET:.0%} of the plain loop)",
                    "meets_target": ratio >= PLAIN_LOOP_TARGET,
                    "faces": n_faces,
                    "epochs_per_pass": epochs,
                    "speedups": result["speedups"],
                },
            )
        )
    return rows


def throughput_by_network(training_rows):
    """Images per second of our trainer by network, from :func:`bench_training`'s rows."""
    return {row.details["network"]: row.ours for row in training_rows}
