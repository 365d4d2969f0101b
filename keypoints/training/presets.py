"""Training presets: how long and with which recipe each network trains.

``default`` is sized for 2 CPU cores: the networks of a default ``make train``
together finish within 15 minutes on the 3378-face stand-in (about 2700
training faces; measured epochs, validation included: conv 30 s, local 75 s,
bnconv 5-7 s; with 8, 5 and 50 epochs the run took 16.5 minutes, hence 5, 3
and 40).
``synthetic`` is what a run on the synthetic fallback uses (under 3 minutes).
``full`` is GPU-length training. Epoch counts are fixed per network rather
than a time budget, so a run is reproducible on any machine; ``--epochs``
overrides them.

Which optimizer, measured on the stand-in (split by person, 4 epochs of
``conv``, 2 CPU cores): the classic recipe (Nesterov momentum, rate 0.03 to
0.0001 and momentum 0.9 to 0.999, linearly) reached 5.53 px validation RMSE,
AdamW with a one-cycle rate peaking at 1e-3 7.70 px; so the classic
networks (conv, local, hybrid) keep the classic recipe. ``bnconv`` uses AdamW
with a one-cycle rate: batch norm lets it take a large rate from the start,
and in the default run it reached 1.743 px in 40 epochs (233 s). (The
optimizer figures above were measured with flips about x -> 95 - x, before
the stand-in's axis was measured as 97.)
"""

from keypoints.errors import KeypointsError
from keypoints.training.estimator import Recipe

DEFAULT_NETWORKS = ("conv", "local", "bnconv")
"""What ``make train`` trains unless ``NETS=`` says otherwise: the classic
convolutional net, its locally-connected twin, and the batch-norm net that is
clearly better than the classic one on a CPU budget."""

PRESETS = {
    "default": {
        "conv": Recipe(epochs=5, optimizer="nesterov", lr=0.03, batch_size=64, patience=8),
        "local": Recipe(epochs=3, optimizer="nesterov", lr=0.03, batch_size=64, patience=8),
        "hybrid": Recipe(epochs=4, optimizer="nesterov", lr=0.03, batch_size=64, patience=8),
        "bnconv": Recipe(epochs=40, lr=4e-3, batch_size=64, patience=15),
    },
    # Used instead of "default" when make train falls back to the synthetic
    # faces: the whole run stays within 3 minutes on 2 CPU cores.
    "synthetic": {
        "conv": Recipe(epochs=3, optimizer="nesterov", lr=0.03, batch_size=64, patience=8),
        "local": Recipe(epochs=2, optimizer="nesterov", lr=0.03, batch_size=64, patience=8),
        "hybrid": Recipe(epochs=3, optimizer="nesterov", lr=0.03, batch_size=64, patience=8),
        "bnconv": Recipe(epochs=12, lr=4e-3, batch_size=64, patience=15),
    },
    "full": {
        "conv": Recipe(epochs=400, optimizer="nesterov", lr=0.03, batch_size=128, patience=100),
        "local": Recipe(epochs=300, optimizer="nesterov", lr=0.03, batch_size=128, patience=100),
        "hybrid": Recipe(epochs=300, optimizer="nesterov", lr=0.03, batch_size=128, patience=100),
        "bnconv": Recipe(epochs=300, lr=4e-3, batch_size=128, patience=60),
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
