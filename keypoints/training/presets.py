"""Training presets: how long and with which recipe each network trains.

``default`` is sized for 2 CPU cores: the networks of a default ``make train``
(conv, local, bnconv) together finish within 15 minutes on the 3378-face
stand-in (about 2700 training faces). Idle 2-core epochs, validation included:
conv about 38 s and local about 75 s at batch 32, bnconv about 6 s at batch 64.
``synthetic`` is what a run on the synthetic fallback uses (under 3 minutes).
``full`` is GPU-length training. Epoch counts are fixed per network rather
than a time budget, so a run is reproducible on any machine; ``--epochs``
overrides them.

Which optimizer, measured on the stand-in (split by person, seed 0, float32
on a GPU, validation RMSE after 5 epochs of ``local`` with dropout 0.2
between its dense layers): AdamW with a one-cycle rate peaking at 1e-3,
batch 32, no weight decay: 2.74 px; the same at 5e-4: 2.78 px; at 2e-3 and
batch 64: 3.05 px; the classic recipe (Nesterov momentum, rate 0.03 to
0.0001 and momentum 0.9 to 0.999, linearly, batch 64): 4.06 px, and at 0.01
with batch 32: 4.13 px. The classic schedule was made for thousands of
epochs; in five it hardly leaves the mean (3.77 px). So every network trains
with AdamW and a one-cycle rate; the classic recipe stays available as
``Recipe(optimizer="nesterov")``. With the full preset on one H200 (bf16),
``bnconv`` reached 1.668 px (best epoch 236 of 300, 44 s) and the classic
``conv`` with the classic recipe 2.815 px after 400 epochs (53 s), still
falling slowly.
"""

from keypoints.errors import KeypointsError
from keypoints.training.estimator import Recipe

DEFAULT_NETWORKS = ("conv", "local", "bnconv")
"""What ``make train`` trains unless ``NETS=`` says otherwise: the classic
convolutional net, its locally-connected twin, and the batch-norm net that is
clearly better than the classic one on a CPU budget."""

PHOTO_JITTER = (10.0, 0.08, 2.0)
"""Rotation (degrees), scale and shift (pixels) of the training faces in ``full`` bnconv runs, whose model
the photo predictor ships: a detector's boxes vary in scale about twice as much as the stand-in's framing
(sd 8.4 % against 4.6 %, measured on the 24 photo frames), and faces in photos are tilted. Measured on the
stand-in (150 epochs of this preset on the CPU, split by person): validation RMSE 1.514 px with the jitter against
1.712 px without, and NME on the 24 photo frames 0.0442 against 0.0485; the whole 300 epochs on the
CPU reached 1.472 px (best epoch 258, 2547 s) and NME 0.0410."""

_ADAMW_CLASSIC = dict(optimizer="adamw", lr=1e-3, weight_decay=0.0)
"""The recipe of the classic networks (conv, local, hybrid): see the figures above."""

PRESETS = {
    "default": {
        "conv": Recipe(epochs=5, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "local": Recipe(epochs=5, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "hybrid": Recipe(epochs=5, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "bnconv": Recipe(epochs=30, lr=4e-3, batch_size=64, patience=15),
    },
    # Used instead of "default" when make train falls back to the synthetic
    # faces: the whole run stays within 3 minutes on 2 CPU cores.
    "synthetic": {
        "conv": Recipe(epochs=3, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "local": Recipe(epochs=2, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "hybrid": Recipe(epochs=3, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "bnconv": Recipe(epochs=12, lr=4e-3, batch_size=64, patience=15),
    },
    "full": {
        "conv": Recipe(epochs=150, batch_size=64, patience=40, **_ADAMW_CLASSIC),
        "local": Recipe(epochs=150, batch_size=64, patience=40, **_ADAMW_CLASSIC),
        "hybrid": Recipe(epochs=150, batch_size=64, patience=40, **_ADAMW_CLASSIC),
        "bnconv": Recipe(epochs=300, lr=4e-3, batch_size=128, patience=60, jitter=PHOTO_JITTER),
    },
}


def recipe_for(network, preset="default", epochs=None):
    """The :class:`Recipe` for ``network`` under ``preset``, with ``epochs`` overriding its length."""
    if preset not in PRESETS:
        raise KeypointsError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.")
    recipes = PRESETS[preset]
    recipe = recipes.get(network, recipes["conv"])
    if epochs is not None:
        if epochs < 1:
            raise KeypointsError(f"--epochs must be at least 1, got {epochs}.")
        recipe = Recipe(**{**recipe.__dict__, "epochs": epochs})
    return recipe
