"""Ctrl-C during training: stop cleanly, keep the best-so-far weights under a name no one mistakes for a finished run.

skorch catches ``KeyboardInterrupt`` inside ``fit`` and returns as if
training had ended, so on its own a Ctrl-C would go on to save the half-trained
network over ``models/<net>.pt`` and start the next network. Here a callback,
:class:`WatchInterrupts` (which ``make_regressor`` gives every net), notes the SIGINT, and at the end of training (after
early stopping has put the best weights back) raises
:class:`FitInterrupted` instead of returning. :func:`keep_best_so_far`
then writes those weights to ``models/<net>.interrupted.pt``, with a card that
says at which epoch of how many, and raises
:class:`~keypoints.errors.TrainingInterruptedError` (exit code 130): the finished
model file, if any, is left as it was, and no other network starts.
"""

import signal
import threading
from pathlib import Path

from skorch.callbacks import Callback, EarlyStopping

from keypoints.atomic import show
from keypoints.errors import TrainingInterruptedError

INTERRUPTED_SUFFIX = ".interrupted.pt"
"""Model files of unfinished runs end with this, never with a bare ``.pt`` of a finished one."""


class FitInterrupted(KeyboardInterrupt):
    """Raised out of ``fit`` by :class:`WatchInterrupts` after Ctrl-C; carries what training reached.

    An internal signal, not an error users see: :func:`keep_best_so_far` turns it into
    :class:`~keypoints.errors.TrainingInterruptedError`. A ``KeyboardInterrupt``, so that callers
    that do not keep the weights (benchmarks, tests) still stop as on any Ctrl-C.

    Attributes
    ----------
    module : torch.nn.Module or None
        The network with its best weights so far; None when no epoch finished.
    epochs_done : int
        Epochs that finished (with a validation score).
    best_epoch : int or None
    best_valid_rmse : float or None
    planned_epochs : int
    """

    def __init__(self, module, epochs_done, best_epoch, best_valid_rmse, planned_epochs):
        super().__init__(f"interrupted after {epochs_done} of {planned_epochs} epochs")
        self.module = module
        self.epochs_done = epochs_done
        self.best_epoch = best_epoch
        self.best_valid_rmse = best_valid_rmse
        self.planned_epochs = planned_epochs


class WatchInterrupts(Callback):
    """Notes a SIGINT during ``fit`` and turns skorch's quiet stop into :class:`FitInterrupted`.

    The handler is installed at the start of training and the previous one
    restored at its end; it records the signal and raises
    ``KeyboardInterrupt`` as Python's own does, so the batch stops at once.
    Outside the main thread (where signal handlers cannot be set) a
    ``KeyboardInterrupt`` still stops training but is not told apart.
    """

    def initialize(self):
        self.interrupted_ = False
        self._previous = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.interrupted_ = False
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum, frame):
        self.interrupted_ = True
        raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        if not self.interrupted_:
            return
        finished = [row for row in net.history if "valid_rmse" in row]
        if not finished:
            raise FitInterrupted(None, 0, None, None, net.max_epochs)
        best = min(finished, key=lambda row: row["valid_rmse"])
        for _, callback in net.callbacks_:
            weights = getattr(callback, "best_model_weights_", None)
            if isinstance(callback, EarlyStopping) and weights is not None:
                net.module_.load_state_dict(weights)  # the best epoch's, whichever order callbacks ran in
        raise FitInterrupted(net.module_, len(finished), best["epoch"], best["valid_rmse"], net.max_epochs)


def watch(regressor):
    """Add :class:`WatchInterrupts` to a skorch net before ``fit``, unless it has one; returns the net.

    :func:`keypoints.training.estimator.make_regressor` adds it to every net it makes.
    """
    callbacks = list(regressor.callbacks or [])
    if not any(isinstance(c[1] if isinstance(c, tuple) else c, WatchInterrupts) for c in callbacks):
        regressor.callbacks = [*callbacks, ("watch_interrupts", WatchInterrupts())]
    return regressor


def interrupted_path(models_dir, name):
    """``models_dir/<name>.interrupted.pt``."""
    return Path(models_dir) / f"{name}{INTERRUPTED_SUFFIX}"


def keep_best_so_far(stop, name, models_dir, card, save, say=print, finished=()):
    """Save what an interrupted training reached, say so, and raise :class:`TrainingInterruptedError`.

    Parameters
    ----------
    stop : FitInterrupted
    name : str
        The network's name.
    models_dir : str or Path
    card : dict
        The model card of the run (data, split, command...); the interruption is added to it.
    save : callable
        ``save(path, name, module, card)``, e.g. :func:`keypoints.model.checkpoint.save_model`.
    say : callable
    finished : sequence of str
        Model files that networks trained before this one wrote in this run (they are complete, and kept).

    Raises
    ------
    TrainingInterruptedError
        Always; the message says what was kept and what was left alone.
    """
    final = Path(models_dir) / f"{name}.pt"
    untouched = f"{show(final)} was not changed" if final.exists() else f"no {show(final)} was written"
    earlier = f"\nKept the finished models of this run: {', '.join(map(show, finished))}." if finished else ""
    if stop.module is None:
        raise TrainingInterruptedError(
            f"training of {name} interrupted in epoch 1 of {stop.planned_epochs}, before any epoch finished: "
            f"nothing was saved; {untouched}, the report (comparison.md) was not rewritten and no other network "
            f"was started.{earlier}"
        )
    path = interrupted_path(models_dir, name)
    card = {
        **card,
        "interrupted": f"at epoch {stop.epochs_done + 1} of {stop.planned_epochs} (Ctrl-C)",
        "epochs": stop.epochs_done,
        "best_epoch": stop.best_epoch,
        "best_valid_rmse_px": round(float(stop.best_valid_rmse), 4),
    }
    save(path, name, stop.module, card)
    raise TrainingInterruptedError(
        f"training of {name} interrupted after {stop.epochs_done} of {stop.planned_epochs} epochs. Kept the best "
        f"weights so far (epoch {stop.best_epoch}, validation RMSE {stop.best_valid_rmse:.3f} px) in {show(path)}, "
        f"whose card says it is unfinished; {untouched}, the report (comparison.md) was not rewritten and no other "
        "network was started."
        f"{earlier}"
    )
