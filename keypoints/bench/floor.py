"""The arithmetic floor: training throughput against FLOPs per image over a large matrix product's rate."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from keypoints.bench.settings import TRAINING_NETWORKS
from keypoints.bench.table import BenchRow
from keypoints.bench.timing import micro_time
from keypoints.networks import build_network
from keypoints.training.loss import MaskedMSELoss

FLOP_BATCH = 128
"""Batch at which the FLOPs are counted (the count per face does not depend on it)."""


def flops_per_face(name):
    """Floating-point operations of one face: a training step (forward and backward) and a prediction.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` on the ``meta``
    device (shapes only, nothing computed).

    Returns
    -------
    tuple of (float, float)
    """
    with torch.device("meta"):
        module = build_network(name)
        x, y = torch.empty(FLOP_BATCH, 1, 96, 96), torch.empty(FLOP_BATCH, 30)  # (B, 1, 96, 96), (B, 30)
    with FlopCounterMode(display=False) as train:
        MaskedMSELoss()(module(x), y).backward()
    with FlopCounterMode(display=False) as predict, torch.no_grad():
        module.eval()(x)
    return train.get_total_flops() / FLOP_BATCH, predict.get_total_flops() / FLOP_BATCH


def matmul_rate(device, size=None, min_run_time=0.3):
    """Floating-point operations per second of a large matrix product: bf16 on CUDA, float32 on the CPU."""
    cuda = torch.device(device).type == "cuda"
    size = size or (8192 if cuda else 1024)
    dtype = torch.bfloat16 if cuda else torch.float32
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))  # (n, n)
    seconds = micro_time(lambda: a @ b, min_run_time)["seconds"]
    return 2 * size**3 / seconds


def bench_floor(settings, device, throughput, say=print, networks=TRAINING_NETWORKS):
    """How far the training throughput is from the arithmetic floor: FLOPs over the matmul rate.

    Parameters
    ----------
    settings : BenchSettings
    device : str
    throughput : dict
        Images per second of our trainer by network (:func:`keypoints.bench.training.throughput_by_network`);
        a network not in it gets no row.
    say : callable
    networks : sequence of str

    Returns
    -------
    list of BenchRow
    """
    rate = matmul_rate(device, size=settings.size("matmul_size"), min_run_time=settings.size("matmul_seconds"))
    say(f"matrix product: {rate / 1e12:.2f} TFLOP/s ({'bf16' if device == 'cuda' else 'float32'}, {device})")
    rows = []
    for name in networks:
        achieved = throughput.get(name)
        if not achieved:
            continue
        train, _ = flops_per_face(name)
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
