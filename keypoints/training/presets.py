"""Training presets: how long and with which recipe each network trains.

``default`` is sized for 2 CPU cores: the networks of a default ``make train``
together finish within 15 minutes on the 3378-face stand-in (about 2700
training faces). ``full`` is GPU-length training. Epoch counts are fixed per
network rather than a time budget, so a run is reproducible on any machine;
``--epochs`` overrides them.
"""

from keypoints.errors import KeypointsError
from keypoints.training.estimator import Recipe

DEFAULT_NETWORKS = ("conv", "local", "bnconv")
"""What ``make train`` trains unless ``NETS=`` says otherwise: the classic
convolutional net, its locally-connected twin, and the batch-norm net that is
clearly better than the classic one on a CPU budget."""

PRESETS = {
    "default": {
        "conv": Recipe(epochs=12, lr=1e-3, batch_size=64, patience=8),
        "local": Recipe(epochs=8, lr=5e-4, batch_size=64, patience=8),
        "hybrid": Recipe(epochs=10, lr=1e-3, batch_size=64, patience=8),
        "bnconv": Recipe(epochs=40, lr=4e-3, batch_size=64, patience=15),
    },
    "full": {
        "conv": Recipe(epochs=300, lr=1e-3, batch_size=128, patience=60),
        "local": Recipe(epochs=200, lr=5e-4, batch_size=128, patience=50),
        "hybrid": Recipe(epochs=250, lr=1e-3, batch_size=128, patience=60),
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
