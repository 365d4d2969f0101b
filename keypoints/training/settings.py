"""What ``keypoints train`` was asked to do, and the command that repeats it."""

import shlex
from dataclasses import dataclass
from pathlib import Path

from keypoints import paths
from keypoints.data.splits import VALID_FRACTION
from keypoints.training.presets import preset_networks, preset_seeds


@dataclass(frozen=True)
class TrainSettings:
    """What ``keypoints train`` was asked to do (printed first, stored in every model card).

    Frozen: library code never rewrites what the user asked for. Values that depend on what is found
    (the preset used on synthetic faces, the networks and seeds of a preset) are resolved into
    separate values by :meth:`networks`, :meth:`seed_list` and
    :func:`keypoints.training.presets.preset_for_data`.

    Attributes
    ----------
    data : str, optional
        Training CSV; None looks in ``data/`` and falls back to synthetic faces.
    nets : tuple of str, optional
        Networks to train; None takes the preset's (the twins by default).
    epochs : int, optional
        Overrides every network's epoch count.
    preset : str
        ``default``, ``synthetic`` or ``full``.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    seed : int
        Seed of the split by person and of the first training run.
    seeds : int, optional
        Training runs per network (seeds ``seed``, ``seed + 1``...); None takes the preset's.
    valid_fraction : float
    skip_bad_rows : bool
    mirror_sum : float, optional
        x + mirrored x of the labels for flips; None takes the data's own.
    models_dir, reports_dir : str
    photos : tuple of str, optional
        Labelled photo folders to train on, beside ``data`` or alone (:mod:`keypoints.training.sources`).
    move_labels : tuple of str
        Sources (a CSV's or a folder's name) whose labels are moved into the human convention
        (:mod:`keypoints.data.conventions`); the others are taken as drawn.
    hold_out : str, optional
        A model file whose held-out people (its card's ``valid_identities``) are this run's validation people,
        everyone else training, in place of the seeded split (``valid_fraction`` then unused).
    """

    data: str = None
    nets: tuple = None
    epochs: int = None
    preset: str = "default"
    device: str = "auto"
    seed: int = 0
    seeds: int = None
    valid_fraction: float = VALID_FRACTION
    skip_bad_rows: bool = False
    mirror_sum: float = None
    models_dir: str = str(paths.MODELS_DIR)
    reports_dir: str = str(paths.REPORTS_DIR)
    photos: tuple = None
    move_labels: tuple = ()
    hold_out: str = None

    def networks(self, preset=None):
        """The networks to train: ``nets``, else those of ``preset`` (default: the settings' own)."""
        return tuple(self.nets) if self.nets else preset_networks(preset or self.preset)

    def seed_list(self, preset=None):
        """The training seeds: ``seeds`` of them (else the preset's count), from ``seed`` on."""
        count = self.seeds if self.seeds is not None else preset_seeds(preset or self.preset)
        return tuple(range(self.seed, self.seed + count))

    def command(self, data=None):
        """The ``keypoints train`` command that repeats this run, with every option that changes the result.

        Parameters
        ----------
        data : str, optional
            Shown instead of ``data`` (a report names the file, not the machine's path to it).

        Returns
        -------
        str
        """
        parts = ["keypoints", "train"]
        data = data or self.data
        if data:
            parts += ["--data", str(data)]
        if self.nets:
            parts += ["--nets", ",".join(self.nets)]
        if self.photos:
            parts += ["--photos", *(Path(p).name for p in self.photos)]
        if self.move_labels:
            parts += ["--move-labels", *self.move_labels]
        parts += ["--preset", self.preset, "--seed", str(self.seed)]
        if self.seeds is not None:
            parts += ["--seeds", str(self.seeds)]
        if self.epochs:
            parts += ["--epochs", str(self.epochs)]
        if self.device != "auto":
            parts += ["--device", self.device]
        if self.mirror_sum is not None:
            parts += ["--mirror-sum", f"{self.mirror_sum:g}"]
        if self.skip_bad_rows:
            parts.append("--skip-bad-rows")
        if self.hold_out:
            parts += ["--hold-out", Path(self.hold_out).name]
        if self.valid_fraction != TrainSettings.valid_fraction:
            parts += ["--valid-fraction", f"{self.valid_fraction:g}"]
        return shlex.join(parts)
