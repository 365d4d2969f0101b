"""Prediction: faces per second in batches against one face at a time, both through :func:`predict_pixels`."""

import numpy as np
import torch

from keypoints.bench.settings import PREDICTION_NETWORKS
from keypoints.bench.table import BenchRow
from keypoints.bench.timing import timed
from keypoints.model.inference import predict_pixels
from keypoints.networks import build_network


def bench_prediction(settings, device, say=print, networks=PREDICTION_NETWORKS):
    """Faces per second in batches of 256 against one face at a time (the tutorials' loop).

    Returns
    -------
    list of BenchRow
    """
    autocast = torch.bfloat16 if device == "cuda" else None
    batch, n_batched, n_single = (settings.size(k) for k in ("predict_batch", "predict_faces", "single_faces"))
    faces = np.random.default_rng(0).integers(0, 256, (n_batched, 1, 96, 96), dtype=np.uint8)
    rows = []
    for name in networks:
        torch.manual_seed(0)
        module = build_network(name).to(device).eval()

        def batched(module=module, faces=faces[:n_batched]):
            return predict_pixels(module, faces, device=device, batch_size=batch, autocast_dtype=autocast)

        def one_at_a_time(module=module, faces=faces[:n_single]):
            return predict_pixels(module, faces, device=device, batch_size=1, autocast_dtype=autocast)

        batched(faces=faces[:batch])  # warm-up
        ours = timed(batched, device)
        one_at_a_time(faces=faces[:2])  # warm-up
        one_by_one = timed(one_at_a_time, device)
        say(
            f"predict {name} on {device}: {n_batched / ours:,.0f} faces/s batched, "
            f"{n_single / one_by_one:,.0f} one by one"
        )
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
    return rows
