"""The skorch estimator that trains a keypoint network, and the recipes it is built from."""

from dataclasses import dataclass

import torch
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.helper import predefined_split

from keypoints.data.transforms import MIRROR_SUM
from keypoints.errors import KeypointsError
from keypoints.training.appearance import Appearance
from keypoints.training.batches import FaceBatches
from keypoints.training.callbacks import (
    LinearSchedule,
    LossProgressBar,
    PixelRmse,
    StopOnNonFinite,
    TimeLeft,
    WarmupPlateau,
)
from keypoints.training.interrupts import WatchInterrupts
from keypoints.training.loss import LOSSES
from keypoints.training.speed import FastEpochs


@dataclass(frozen=True)
class Recipe:
    """How one network is trained.

    Attributes
    ----------
    epochs : int
        Most epochs; early stopping may end sooner.
    optimizer : str
        ``"adamw"`` or ``"nesterov"`` (the classic linear rate and momentum schedule).
    lr : float
        Peak learning rate (AdamW, one-cycle), starting rate (AdamW on a plateau schedule, Nesterov).
    batch_size : int
    weight_decay : float
    patience : int
        Epochs without a better validation RMSE before stopping.
    jitter : tuple of float, optional
        ``(degrees, scale, pixels)``: random rotation, scale and shift of every training face
        (:mod:`keypoints.training.augment`); None for none.
    appearance : keypoints.training.appearance.Appearance, optional
        Random lighting, blur, lost resolution, noise and JPEG compression of every training face
        (:mod:`keypoints.training.appearance`); None for none.
    loss : str
        ``"mse"`` (masked squared error) or ``"l1"`` (masked absolute error); see :mod:`keypoints.training.loss`.
    schedule : str
        AdamW's rate: ``"one-cycle"`` (warms up to ``lr``, anneals to zero at the last epoch) or ``"plateau"``
        (starts at ``lr``, multiplied by ``plateau_factor`` after ``plateau_patience`` epochs without a better
        validation RMSE), which lets early stopping end a run that has converged.
    plateau_factor : float
    plateau_patience : int
    warmup_epochs : int
        On the plateau schedule, epochs over which the rate first rises linearly to ``lr``: without it a rate
        as high as the one-cycle peak starts badly (see docs/decisions/0003-conclusive-preset.md).
    min_gain : float
        The relative fall of the validation RMSE that counts as better, for early stopping and the plateau
        schedule (skorch's and PyTorch's default, 1e-4, lets gains of a thousandth of a pixel go on for epochs).
    """

    epochs: int
    optimizer: str = "adamw"
    lr: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 1e-4
    patience: int = 20
    jitter: tuple = None
    appearance: Appearance = None
    loss: str = "mse"
    schedule: str = "one-cycle"
    plateau_factor: float = 0.3
    plateau_patience: int = 2
    warmup_epochs: int = 0
    min_gain: float = 1e-4

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise KeypointsError(f"unknown loss {self.loss!r}; use one of {', '.join(LOSSES)}.")
        if self.schedule not in SCHEDULES:
            raise KeypointsError(f"unknown schedule {self.schedule!r}; use one of {', '.join(SCHEDULES)}.")


SCHEDULES = ("one-cycle", "plateau")
"""AdamW's learning-rate schedules (see :class:`Recipe`)."""


def choose_device(requested="auto"):
    """``"cuda"`` when asked for or available under ``"auto"``, else ``"cpu"``."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise KeypointsError(
            "--device cuda was asked for, but PyTorch sees no CUDA GPU here. Use --device auto or cpu."
        )
    if requested not in ("cpu", "cuda"):
        raise KeypointsError(f"unknown device {requested!r}; use auto, cpu or cuda.")
    return requested


class KeypointRegressor(FastEpochs, NeuralNetRegressor):
    """A skorch ``NeuralNetRegressor`` that runs the forward pass under autocast when asked.

    Parameters
    ----------
    autocast_dtype : torch.dtype or None
        ``torch.bfloat16`` on CUDA; None runs in float32. The loss is always
        computed in float32.
    speedups : str, sequence of str or None
        Channels-last, compilation, CUDA graphs (see :mod:`keypoints.training.speed`);
        None follows the ``KEYPOINTS_SPEEDUPS`` setting, else ``auto``.
    **kwargs
        As for ``NeuralNetRegressor``.
    """

    def __init__(self, *args, autocast_dtype=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.autocast_dtype = autocast_dtype

    def train_step_single(self, batch, **fit_params):
        """skorch's step; the recorded loss is the batch's squared error when the loss trained with is another."""
        step = super().train_step_single(batch, **fit_params)
        squared = getattr(self.criterion_, "squared", None)
        if squared is not None:
            step["loss"] = squared
        return step

    def infer(self, x, **fit_params):
        device_type = torch.device(self.device).type
        with torch.autocast(device_type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
            y = super().infer(x, **fit_params)
        return y.float()


def adamw_schedule(recipe, batches_per_epoch=None):
    """skorch's ``LRScheduler`` for an AdamW recipe: one-cycle, stepped every batch, or on a plateau, every epoch.

    The plateau schedule watches ``valid_rmse``, the figure early stopping watches; it needs validation faces.
    With ``recipe.warmup_epochs`` it first warms up, stepped every batch (:class:`WarmupPlateau`, which reads the
    epochs marked best by ``PixelRmse(recipe.min_gain)``).
    """
    if recipe.schedule == "plateau" and recipe.warmup_epochs:
        return WarmupPlateau(
            recipe.lr,
            recipe.warmup_epochs,
            recipe.plateau_factor,
            recipe.plateau_patience,
            batches_per_epoch or 1,
        )
    if recipe.schedule == "plateau":
        return LRScheduler(
            policy=torch.optim.lr_scheduler.ReduceLROnPlateau,
            monitor="valid_rmse",
            mode="min",
            factor=recipe.plateau_factor,
            patience=recipe.plateau_patience,
            threshold=recipe.min_gain,
        )
    return LRScheduler(
        policy=torch.optim.lr_scheduler.OneCycleLR,
        max_lr=recipe.lr,
        total_steps=recipe.epochs * max(batches_per_epoch or 1, 1),
        pct_start=0.15,
        step_every="batch",
    )


def make_regressor(
    module,
    recipe,
    valid_set=None,
    device="cpu",
    seed=0,
    batches_per_epoch=None,
    verbose=1,
    progress_bar=False,
    mirror_sum=MIRROR_SUM,
    speedups=None,
    clock=None,
):
    """A :class:`KeypointRegressor` set up with the masked loss, flips, schedule and early stopping.

    Parameters
    ----------
    module : torch.nn.Module
        The network: (B, 1, 96, 96) -> (B, K).
    recipe : Recipe
    valid_set : FaceTensors, optional
        The validation faces (a split by person); None trains without validation.
    device : str
    seed : int
        Seeds the batch order and flips (the weights are seeded by the caller).
    batches_per_epoch : int, optional
        Needed by the one-cycle schedule; defaults to 1.
    verbose : int
    progress_bar : bool
        Show a bar within each epoch.
    mirror_sum : float
        x + mirrored x of the labels, for the flips.
    speedups : str, sequence of str or None
        See :func:`keypoints.training.speed.resolve_speedups`.
    clock : keypoints.training.callbacks.RunClock, optional
        The whole run's plan: adds the time left to the epoch table.

    Returns
    -------
    KeypointRegressor
    """
    callbacks = [("pixel_rmse", PixelRmse(recipe.min_gain)), ("stop_on_non_finite", StopOnNonFinite())]
    callbacks.append(("watch_interrupts", WatchInterrupts()))  # skorch would swallow Ctrl-C; see interrupts.py
    if recipe.optimizer == "nesterov":
        optimizer = dict(optimizer=torch.optim.SGD, optimizer__nesterov=True, optimizer__momentum=0.9)
        callbacks.append(("schedule", LinearSchedule(recipe.epochs, lr=(recipe.lr, 0.0001))))
    elif recipe.optimizer == "adamw":
        optimizer = dict(optimizer=torch.optim.AdamW, optimizer__weight_decay=recipe.weight_decay)
        callbacks.append(("schedule", adamw_schedule(recipe, batches_per_epoch)))
    else:
        raise KeypointsError(f"unknown optimizer {recipe.optimizer!r}; use adamw or nesterov.")
    if valid_set is not None:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_rmse",
                    patience=recipe.patience,
                    threshold=recipe.min_gain,
                    load_best=True,
                    sink=print,
                ),
            )
        )
    if progress_bar:
        callbacks.append(("progress_bar", LossProgressBar()))
    if clock is not None:
        callbacks.append(("time_left", TimeLeft(clock)))
    return KeypointRegressor(
        module,
        criterion=LOSSES[recipe.loss],
        lr=recipe.lr,
        max_epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        iterator_train=FaceBatches,
        iterator_train__shuffle=True,
        iterator_train__flip=True,
        iterator_train__seed=seed,
        iterator_train__mirror_sum=mirror_sum,
        iterator_train__jitter=recipe.jitter,
        iterator_train__appearance=recipe.appearance,
        iterator_valid=FaceBatches,
        iterator_valid__batch_size=256,
        train_split=predefined_split(valid_set) if valid_set is not None else None,
        callbacks=callbacks,
        callbacks__print_log__keys_ignored=["train_loss", "valid_loss"],
        device=device,
        autocast_dtype=torch.bfloat16 if torch.device(device).type == "cuda" else None,
        speedups=speedups,
        verbose=verbose,
        **optimizer,
    )
