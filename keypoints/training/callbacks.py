"""skorch callbacks: the epoch table in pixels with its best epoch and the time left, the classic schedule,
the warm-up-then-plateau schedule, a stop on a non-finite loss, a progress bar in pixels."""

import math

import numpy as np
import torch
from skorch.callbacks import Callback, ProgressBar

from keypoints.data.transforms import HALF
from keypoints.errors import TrainingError
from keypoints.training import speed


def rmse_pixels(mse_scaled):
    """RMSE in pixels of a mean squared error measured on keypoints scaled to [-1, 1]."""
    return math.sqrt(mse_scaled) * HALF


class PixelRmse(Callback):
    """Adds ``train_rmse`` and ``valid_rmse`` (pixels) and their ratio to each epoch of the history.

    skorch averages the batch losses weighted by batch size; with every
    keypoint present that is the mean squared error over the epoch, so the
    square root scaled by 48 is the RMSE in pixels. (With missing keypoints it
    weights batches by faces rather than by keypoints: close, not exact;
    :func:`keypoints.measure.metrics.rmse_per_keypoint` is exact.)

    Parameters
    ----------
    min_gain : float
        The relative fall of the validation RMSE that marks an epoch as best, as early stopping counts it.
    """

    def __init__(self, min_gain=1e-4):
        self.min_gain = min_gain

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        train = rmse_pixels(row["train_loss"])
        net.history.record("train_rmse", train)
        if "valid_loss" in row:
            valid = rmse_pixels(row["valid_loss"])
            net.history.record("valid_rmse", valid)
            net.history.record("train/valid", train / valid if valid else float("nan"))
            # "+" in the epoch table's best column: the epoch whose weights early stopping keeps
            marked = [r["valid_rmse"] for r in net.history[:-1] if r.get("best")]
            net.history.record("best", not marked or valid < marked[-1] * (1 - self.min_gain))


class StopOnNonFinite(Callback):
    """Stops training with a clear message when a batch loss is NaN or infinite.

    On the CPU each batch loss is checked at once. On a GPU, reading it would
    make the host wait for every batch, so the losses are checked together at
    the end of the epoch (one copy), and the epoch finishes first.
    """

    def on_epoch_begin(self, net, **kwargs):
        self._pending = []  # (loss on the device, training)

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is None:
            return
        loss = loss.detach()
        if speed.reads_at_once(loss):
            self._check(net, float(loss), training)
        else:
            self._pending.append((loss, training))

    def on_epoch_end(self, net, **kwargs):
        pending, self._pending = getattr(self, "_pending", []), []
        if pending:
            values = torch.stack([loss.float() for loss, _ in pending]).tolist()
            for value, (_, training) in zip(values, pending):
                self._check(net, value, training)

    def _check(self, net, value, training):
        if not math.isfinite(value):
            epoch = len(net.history)
            stage = "training" if training else "validation"
            raise TrainingError(
                f"the {stage} loss became {value} in epoch {epoch}. "
                "Training stopped; nothing was saved for this network.\n"
                "Try a lower learning rate or a smaller batch (the Recipe in keypoints/training/presets.py), "
                "or --device cpu to rule out half precision; check the data with `keypoints check FILE`."
            )


class LinearSchedule(Callback):
    """The classic recipe: learning rate and momentum move linearly over the planned epochs.

    Daniel Nouri's tutorial used Nesterov momentum with the rate going from
    0.03 to 0.0001 and momentum from 0.9 to 0.999, set at the start of each epoch.
    """

    def __init__(self, epochs, lr=(0.03, 0.0001), momentum=(0.9, 0.999)):
        self.epochs = epochs
        self.lr = lr
        self.momentum = momentum

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - 1  # the history already holds this epoch's row
        lrs = np.linspace(*self.lr, max(self.epochs, 1))
        momenta = np.linspace(*self.momentum, max(self.epochs, 1))
        step = min(epoch, len(lrs) - 1)
        for group in net.optimizer_.param_groups:
            group["lr"] = float(lrs[step])
            group["momentum"] = float(momenta[step])


class WarmupPlateau(Callback):
    """AdamW's rate rises linearly to ``lr`` over the first epochs, then falls on a plateau of the validation RMSE.

    After the warm-up the rate is multiplied by ``factor`` once ``patience`` epochs in a row are not marked
    ``best`` by :class:`PixelRmse` (which runs before it and counts a gain as early stopping does). Epochs of the
    warm-up never count as bad: the rate is still rising. The rate of every epoch is recorded as ``lr``.

    Parameters
    ----------
    lr : float
        The rate reached at the end of the warm-up.
    warmup_epochs : int
    factor : float
    patience : int
    batches_per_epoch : int
    """

    def __init__(self, lr, warmup_epochs, factor, patience, batches_per_epoch):
        self.lr = lr
        self.warmup_epochs = warmup_epochs
        self.factor = factor
        self.patience = patience
        self.batches_per_epoch = batches_per_epoch

    def on_train_begin(self, net, **kwargs):
        self.step_, self.rate_, self.bad_ = 0, self.lr, 0

    def on_batch_begin(self, net, training=None, **kwargs):
        if not training:
            return
        warm_steps = self.warmup_epochs * max(self.batches_per_epoch, 1)
        if self.step_ < warm_steps:
            self._set(net, self.lr * (self.step_ + 1) / warm_steps)
        self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])
        if "best" not in row:  # no validation faces
            return
        if row["best"]:
            self.bad_ = 0
        elif len(net.history) > self.warmup_epochs:
            self.bad_ += 1
            if self.bad_ > self.patience:
                self.rate_, self.bad_ = self.rate_ * self.factor, 0
                self._set(net, self.rate_)

    @staticmethod
    def _set(net, rate):
        for group in net.optimizer_.param_groups:
            group["lr"] = rate


class LossProgressBar(ProgressBar):
    """skorch's progress bar within an epoch, showing only the batch losses already read.

    On a GPU the batch losses stay on the device until the end of the pass
    (:func:`keypoints.training.speed.reads_at_once`); skorch's bar would print
    each as ``tensor(..., device='cuda:0')``, waiting for the GPU to do so.
    There the bar shows the progress alone, and the epoch's losses come in the
    epoch table.
    """

    def _get_postfix_dict(self, net):
        # the batch's RMSE in pixels, the unit of the epoch table, rather than the scaled loss
        return {
            key.replace("_loss", "_rmse_px"): round(rmse_pixels(value), 3)
            for key, value in super()._get_postfix_dict(net).items()
            if isinstance(value, float) and key.endswith("_loss")
        }


class RunClock:
    """The planned epochs of a whole run (networks x seeds) and the time each epoch took.

    Parameters
    ----------
    plan : sequence of (str, int)
        One ``(network, epochs)`` per training run, in order. Early stopping may end a run sooner,
        so the estimate is an upper one.
    """

    def __init__(self, plan):
        self.plan = list(plan)
        self.run = 0
        self.done = 0  # epochs of the current run
        self.seconds = {}  # network -> list of epoch durations

    def start(self, index):
        """The run ``index`` of the plan begins."""
        self.run, self.done = index, 0

    def epoch(self, seconds):
        """One epoch of the current run ended, in ``seconds``."""
        name = self.plan[self.run][0]
        self.seconds.setdefault(name, []).append(seconds)
        self.done += 1

    def seconds_left(self):
        """Estimated seconds until the last planned epoch: each network at its mean epoch time so far
        (one not yet started at the mean of those seen)."""
        if not self.seconds:
            return float("nan")
        means = {name: float(np.mean(times)) for name, times in self.seconds.items()}
        fallback = float(np.mean(list(means.values())))
        name, epochs = self.plan[self.run]
        left = max(epochs - self.done, 0) * means.get(name, fallback)
        left += sum(n * means.get(other, fallback) for other, n in self.plan[self.run + 1 :])
        return left


def format_duration(seconds):
    """``1h02m``, ``12m05s`` or ``42s``."""
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class TimeLeft(Callback):
    """Adds ``run_left`` to each epoch of the table: the estimated time left for the whole run."""

    def __init__(self, clock):
        self.clock = clock

    def on_epoch_end(self, net, **kwargs):
        self.clock.epoch(net.history[-1, "dur"])
        net.history.record("run_left", format_duration(self.clock.seconds_left()))
