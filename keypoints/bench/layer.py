"""The locally-connected layer: ours against the forum's broadcast version and ``nn.Conv2d``, time and memory."""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import torch

from keypoints.bench.table import BenchRow
from keypoints.bench.timing import micro_time, synchronize
from keypoints.networks import LocallyConnected2d, broadcast_locally_connected
from keypoints.networks.geometry import local_params, output_size

LAYER_SHAPE = dict(in_channels=32, out_channels=64, kernel_size=2, input_size=47)
"""Block 2 of ``local``: (B, 32, 47, 47) -> (B, 64, 46, 46)."""

FLOAT32_BYTES = 4


def broadcast_product_bytes(batch, shape=LAYER_SHAPE):
    """Bytes of the broadcast version's (B, K, D1*F*F, L) float32 product: one copy of the weights per face."""
    side = output_size(shape["input_size"], shape["kernel_size"], layer="bench layer")
    weights = local_params(shape["in_channels"], shape["out_channels"], shape["kernel_size"], side, side, bias=False)
    return batch * weights * FLOAT32_BYTES


def layer_case(kind, batch, device="cpu", min_run_time=0.2):
    """Forward and backward of one layer implementation: median seconds and peak extra memory.

    Parameters
    ----------
    kind : str
        ``local`` (:class:`LocallyConnected2d`), ``broadcast``
        (:func:`broadcast_locally_connected` with the same weights) or ``conv``
        (``nn.Conv2d`` of the same shape).
    batch : int
    device : str
    min_run_time : float
        Least seconds spent timing (``torch.utils.benchmark.Timer``, after its warm-up).

    Returns
    -------
    dict
        ``seconds`` (median), ``iqr_s``, ``runs``, and ``peak_mib``: memory
        above what the inputs and weights hold, at the highest point of a
        forward and backward (CUDA: ``max_memory_allocated``; CPU: the
        process's peak resident size, reset after the set-up, so call it in a
        fresh process, as :func:`layer_case_in_subprocess` does).
    """
    torch.manual_seed(0)
    shape = LAYER_SHAPE
    side = shape["input_size"]
    x = torch.rand(batch, shape["in_channels"], side, side, device=device, requires_grad=True)  # (B, 32, 47, 47)
    if kind == "conv":
        layer = torch.nn.Conv2d(shape["in_channels"], shape["out_channels"], shape["kernel_size"]).to(device)
        forward = layer
    elif kind in ("local", "broadcast"):
        layer = LocallyConnected2d(**shape).to(device)
        forward = layer
        if kind == "broadcast":

            def forward(x):
                return broadcast_locally_connected(x, layer.weight, layer.bias, shape["kernel_size"])
    else:
        raise ValueError(f"unknown layer case {kind!r}: use local, broadcast or conv")

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
    timing = micro_time(step, min_run_time)
    synchronize(device)
    peak = torch.cuda.max_memory_allocated() if on_cuda else _peak_rss()
    return {**timing, "peak_mib": (peak - before) / 2**20}


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


def layer_case_in_subprocess(kind, batch, device="cpu", min_run_time=0.2):
    """:func:`layer_case` in a fresh Python process, so that its peak memory is its own."""
    code = (
        "import json; from keypoints.bench.layer import layer_case; "
        f"print(json.dumps(layer_case({kind!r}, {batch}, {device!r}, {min_run_time})))"
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


def bench_local_layer(settings, device, say=print):
    """LocallyConnected2d against the broadcast version and against Conv2d, time and memory.

    Returns
    -------
    list of BenchRow
    """
    batch = settings.size("layer_batch")
    # on a GPU the broadcast fits at the full batch (about 27 GB at its peak)
    small = batch if device == "cuda" else settings.size("broadcast_batch")
    measure = layer_case if device == "cuda" else layer_case_in_subprocess
    seconds = settings.size("layer_seconds")
    cases = {
        key: measure(kind, b, device, seconds)
        for key, kind, b in (
            ("local", "local", batch),
            ("conv", "conv", batch),
            ("local_small", "local", small),
            ("broadcast", "broadcast", small),
        )
    }
    for key, case in cases.items():
        say(
            f"layer {key}: {case['seconds'] * 1000:.1f} ms (IQR {case['iqr_s'] * 1000:.1f} ms, "
            f"{case['runs']} runs), peak {case['peak_mib']:.0f} MiB"
        )
    shape = "32->64 ch, 2x2, 47x47 in"
    scale = batch / small
    note = "" if small == batch else f" (measured at batch {small}, time scaled to {batch})"
    spread = {key: case["iqr_s"] for key, case in cases.items()}
    return [
        BenchRow(
            f"LocallyConnected2d fwd+bwd, batch {batch}, {shape}",
            cases["local"]["seconds"],
            cases["broadcast"]["seconds"] * scale,
            "broadcast version" + note,
            section="local layer",
            details={
                "broadcast_product_gb_at_full_batch": round(broadcast_product_bytes(batch) / 1e9, 1),
                "iqr_s": spread,
            },
        ),
        BenchRow(
            f"LocallyConnected2d fwd+bwd, batch {batch}: vs Conv2d",
            cases["local"]["seconds"],
            cases["conv"]["seconds"],
            "nn.Conv2d, same shape",
            section="local layer",
            details={"iqr_s": spread},
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
