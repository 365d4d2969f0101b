"""Training presets: which networks train, how long, with which recipe, and over how many seeds.

``default`` is the short run, sized for 2 CPU cores (within 15 minutes on the 3378-face real data): the
twins ``bnconv`` and ``bnlocal``, which differ only in weight sharing, over 3 seeds on one split.
``conclusive`` trains the twins until early stopping ends them (a plateau schedule), over 10 seeds that each
draw their own split by person, for the corrected resampled t-test (its report is ``reports/conclusive.md``).
``synthetic`` is what a run on the synthetic fallback uses (within 3 minutes). ``full`` is GPU-length
training of every dense-head network over 5 seeds (``bnheat``, with a recipe in every preset, trains when named).
Epoch counts are fixed per network rather than a time budget, so a run is reproducible on any machine; ``--epochs``
and ``--seeds`` override them. The figures behind these choices are in the records of ``docs/decisions/README.md``.
"""

from dataclasses import replace

from keypoints.errors import KeypointsError
from keypoints.networks import NETWORKS, TWINS
from keypoints.training.appearance import Appearance
from keypoints.training.estimator import Recipe

PHOTO_JITTER = (10.0, 0.08, 2.0)
"""Rotation (degrees), scale and shift (pixels) of the training faces in ``full`` bnconv runs, whose model
the photo predictor ships: detector crops are tilted and framed more loosely than the training faces
(see docs/decisions/0009-jitter-for-the-shipped-model.md)."""

PHOTO_APPEARANCE = Appearance()
"""Lighting, blur, lost resolution, noise and JPEG compression of the training faces in ``full`` bnconv runs: faces in
photos vary in all of these, the real-face video frames hardly (see docs/decisions/0010-appearance-jitter-and-l1.md)."""

PHOTO_LOSS = "l1"
"""The loss of ``full`` bnconv runs: the absolute error follows the mean distance NME measures and is pulled less
by odd labels (see docs/decisions/0010-appearance-jitter-and-l1.md)."""

VALIDATION_JITTER = PHOTO_JITTER
"""The jitter of the validation faces for the centred-versus-jittered test: as much as a detector's crops
vary (see docs/decisions/0001-the-twins-bnconv-and-bnlocal.md)."""

VALIDATION_JITTER_SEED = 1234
"""Fixed, so every network and seed is scored on the same jittered faces."""

_ADAMW_CLASSIC = dict(optimizer="adamw", lr=1e-3, weight_decay=0.0)
"""The recipe of the classic networks (conv, local, hybrid): see
docs/decisions/0004-optimizer-of-the-classic-networks.md."""

_TWIN_DEFAULT = Recipe(epochs=16, lr=4e-3, batch_size=64, patience=8)
"""One recipe for both twins (same schedule, batch and stopping); sized in
docs/decisions/0002-default-preset-twins-over-3-seeds.md."""

_TWIN_CONCLUSIVE = Recipe(
    epochs=60,
    lr=4e-3,
    batch_size=64,
    patience=5,
    schedule="plateau",
    plateau_factor=0.5,
    plateau_patience=1,
    warmup_epochs=2,
    min_gain=0.002,
)
"""Both twins until early stopping ends them: the rate warms up to the default's peak over 2 epochs, then halves
after every 2 epochs in a row without a validation RMSE 0.2 % better, and 5 such epochs end the run; sized in
docs/decisions/0079-conclusive-preset-converged.md."""

_TWIN_FULL = Recipe(
    epochs=600, lr=4e-3, batch_size=128, patience=60, jitter=PHOTO_JITTER, appearance=PHOTO_APPEARANCE, loss=PHOTO_LOSS
)

PRESETS = {
    "default": {
        "conv": Recipe(epochs=5, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "local": Recipe(epochs=5, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "hybrid": Recipe(epochs=5, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "bnconv": _TWIN_DEFAULT,
        "bnlocal": _TWIN_DEFAULT,
        "bnheat": _TWIN_DEFAULT,
    },
    # Used instead of "default" when make train falls back to the synthetic
    # faces: the whole run stays within 3 minutes on 2 CPU cores.
    "synthetic": {
        "conv": Recipe(epochs=3, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "local": Recipe(epochs=2, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "hybrid": Recipe(epochs=3, batch_size=32, patience=8, **_ADAMW_CLASSIC),
        "bnconv": replace(_TWIN_DEFAULT, epochs=8, patience=4),
        "bnlocal": replace(_TWIN_DEFAULT, epochs=8, patience=4),
        "bnheat": replace(_TWIN_DEFAULT, epochs=8, patience=4),
    },
    "conclusive": {"bnconv": _TWIN_CONCLUSIVE, "bnlocal": _TWIN_CONCLUSIVE},
    "full": {
        "conv": Recipe(epochs=150, batch_size=64, patience=40, **_ADAMW_CLASSIC),
        "local": Recipe(epochs=150, batch_size=64, patience=40, **_ADAMW_CLASSIC),
        "hybrid": Recipe(epochs=150, batch_size=64, patience=40, **_ADAMW_CLASSIC),
        "bnconv": _TWIN_FULL,
        "bnlocal": _TWIN_FULL,
        "bnheat": _TWIN_FULL,
    },
}

PRESET_NETWORKS = {
    "default": TWINS,
    "synthetic": TWINS,
    "conclusive": TWINS,
    "full": ("conv", "local", "hybrid", *TWINS),
}
"""What ``make train`` trains unless ``NETS=`` says otherwise."""

PRESET_SEEDS = {"default": 3, "synthetic": 3, "conclusive": 10, "full": 5}
"""Training runs per network: at least 3, so the paired difference of the twins has an interval."""

SPLIT_PER_SEED = frozenset({"conclusive"})
"""Presets whose every seed draws its own split by person (seeded by the training seed), so the comparison
covers the people who happen to be held out, not one draw of them; their difference is tested with the
corrected resampled t-test (:func:`keypoints.report.stats.corrected_paired_difference`)."""

REPORT_NAMES = {"conclusive": "conclusive"}
"""The report file of a preset, ``reports/<name>.md``; the others write ``comparison.md``. The conclusive
report has its own file, so no later short run writes over it."""


def _check_preset(preset):
    if preset not in PRESETS:
        raise KeypointsError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.")


def preset_networks(preset):
    """The networks a preset trains when ``--nets`` is not given."""
    _check_preset(preset)
    return PRESET_NETWORKS[preset]


def preset_seeds(preset):
    """How many seeds a preset trains each network with when ``--seeds`` is not given."""
    _check_preset(preset)
    return PRESET_SEEDS[preset]


def splits_per_seed(preset):
    """Whether every seed of ``preset`` draws its own split (else one split, of ``--seed``, for all)."""
    _check_preset(preset)
    return preset in SPLIT_PER_SEED


def report_name(preset):
    """The stem of the report a run of ``preset`` writes: ``conclusive`` or ``comparison``."""
    _check_preset(preset)
    return REPORT_NAMES.get(preset, "comparison")


def preset_for_data(preset, synthetic):
    """The preset a run uses: ``synthetic`` stands in for ``default`` on the synthetic fallback."""
    _check_preset(preset)
    return "synthetic" if synthetic and preset == "default" else preset


def recipe_for(network, preset="default", epochs=None):
    """The :class:`Recipe` for ``network`` under ``preset``, with ``epochs`` overriding its length.

    Raises
    ------
    KeypointsError
        For an unknown preset, a network with no recipe, or ``epochs`` below 1.
    """
    _check_preset(preset)
    recipes = PRESETS[preset]
    if network not in recipes:
        known = ", ".join(name for name in NETWORKS if name in recipes)
        raise KeypointsError(
            f"no training recipe for network {network!r} in preset {preset!r}; networks with one: {known}. "
            "Add its Recipe to keypoints/training/presets.py."
        )
    recipe = recipes[network]
    if epochs is not None:
        if epochs < 1:
            raise KeypointsError(f"--epochs must be at least 1, got {epochs}.")
        recipe = replace(recipe, epochs=epochs)
    return recipe
