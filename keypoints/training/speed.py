"""The fast training path: no GPU sync per batch, channels-last, and compilation, behind one setting.

On a GPU a batch of the classic networks takes a few milliseconds, so what
runs around it matters as much as the network: skorch reads every batch loss
with ``.item()``, which makes the host wait for the GPU after every batch and
leaves the GPU idle while Python prepares the next one. :class:`FastEpochs`
keeps the losses on the device during a pass and reads them once at its end.

The optional speedups, chosen by the ``KEYPOINTS_SPEEDUPS`` setting (or the
``speedups`` argument of the estimator):

``channels_last``
    Weights and inputs in NHWC order, which cuDNN's tensor-core kernels use
    directly (in NCHW they transpose around every convolution).
``compile``
    ``torch.compile`` of the training forward pass (fused elementwise
    kernels); costs tens of seconds of compilation per network and shape.
``cudagraphs``
    ``torch.compile(mode="reduce-overhead")``: the same, replayed as CUDA
    graphs, so one launch replaces the hundreds of a step. CUDA only.

``auto`` (the default) is :data:`AUTO`, per device type; ``none`` switches
everything off. ``make bench`` on a GPU measures each choice and says which
wins (``reports/bench.json``), and :data:`AUTO` should follow it.
"""

import os

import torch
from skorch.dataset import get_len
from skorch.utils import to_tensor

from keypoints.errors import KeypointsError

SETTING = "KEYPOINTS_SPEEDUPS"
"""The environment variable that chooses the speedups when no ``speedups`` argument is given."""

SPEEDUPS = ("channels_last", "compile", "cudagraphs")

AUTO = {"cuda": ("channels_last",), "cpu": ()}
"""What ``auto`` switches on, by device type. Compilation stays off until a GPU
bench shows it pays within a training run (its compile time counts there)."""


def to_device(tensor, device):
    """``tensor`` on ``device``; to a GPU from pinned memory, so the host does not wait for the copy.

    Pinning a tensor that is already pinned (a slice of a pinned pass's draws) costs nothing.
    """
    if tensor is None or tensor.device == torch.device(device):
        return tensor
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def reads_at_once(loss):
    """Whether a batch loss is read as soon as it is made, or with the rest at the end of the pass.

    On the CPU reading costs nothing. On a GPU it makes the host wait for the
    batch, so :class:`FastEpochs` and the non-finite check keep the loss on the
    device until the pass ends. Both ask here, so that the tests can run the
    deferred path on the CPU.

    Parameters
    ----------
    loss : Tensor, shape ()

    Returns
    -------
    bool
    """
    return loss.device.type == "cpu"


def resolve_speedups(speedups=None, device="cpu"):
    """The speedups to use on ``device``.

    Parameters
    ----------
    speedups : str, sequence of str or None
        ``"auto"``, ``"none"``, or names from :data:`SPEEDUPS` (a sequence or a
        comma-separated string); None reads the ``KEYPOINTS_SPEEDUPS`` setting,
        and ``auto`` when it is not set.
    device : str or torch.device

    Returns
    -------
    tuple of str
        In the order of :data:`SPEEDUPS`.

    Raises
    ------
    KeypointsError
        For an unknown name, or ``cudagraphs`` on a device that is not CUDA.
    """
    source = "speedups"
    if speedups is None:
        speedups, source = os.environ.get(SETTING, "auto"), SETTING
    names = [s.strip() for s in speedups.split(",")] if isinstance(speedups, str) else list(speedups)
    names = [name for name in names if name]
    device_type = torch.device(device).type
    if names == ["auto"]:
        return AUTO.get(device_type, ())
    if names in ([], ["none"]):
        return ()
    unknown = [name for name in names if name not in SPEEDUPS]
    if unknown:
        raise KeypointsError(
            f"{source}: unknown speedup {unknown[0]!r}; use auto, none, or a comma-separated "
            f"list of {', '.join(SPEEDUPS)}."
        )
    if "cudagraphs" in names and device_type != "cuda":
        raise KeypointsError(
            f"{source}: cudagraphs needs a CUDA device, and training runs on {device_type}; use compile instead."
        )
    return tuple(name for name in SPEEDUPS if name in names)


class FastEpochs:
    """A mixin for a skorch ``NeuralNet``: passes without a sync per batch, and the speedups.

    Put it before the skorch class: ``class Net(FastEpochs, NeuralNetRegressor)``.
    The net takes a ``speedups`` argument (see :func:`resolve_speedups`);
    ``module_`` stays the plain module (its ``state_dict`` is what is saved),
    and the compiled forward, when asked for, is used for training batches only.

    Attributes
    ----------
    speedups_ : tuple of str
        The speedups in use, set by ``initialize``.
    """

    def __init__(self, *args, speedups=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.speedups = speedups

    def initialize_module(self):
        super().initialize_module()
        self.speedups_ = resolve_speedups(self.speedups, self.device)
        _set_plain(self, "_compiled", None)
        if "channels_last" in self.speedups_:
            # skorch moves the module to the device next; .to() keeps the format
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def infer(self, x, **fit_params):
        speedups = getattr(self, "speedups_", ())
        if not speedups:
            return super().infer(x, **fit_params)
        x = to_tensor(x, device=self.device)
        if "channels_last" in speedups and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if torch.is_grad_enabled() and ("compile" in speedups or "cudagraphs" in speedups):
            return self._compiled_forward()(x, **fit_params)
        return self.module_(x, **fit_params)

    def _compiled_forward(self):
        # compiled on first use, once the module is on its device; kept apart
        # from module_ so that state_dict keys carry no "_orig_mod." prefix
        if getattr(self, "_compiled", None) is None:
            mode = "reduce-overhead" if "cudagraphs" in self.speedups_ else None
            _set_plain(self, "_compiled", torch.compile(self.module_, mode=mode))
        return self._compiled

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One pass, as skorch's, but the batch losses are read once at the end of a GPU pass.

        skorch records ``loss.item()`` after every batch; on a GPU that waits
        for the batch to finish. Here the history holds the loss tensor until
        the end of the pass, when all of them come back in one copy (on the
        CPU the value is read at once, as it costs nothing there).
        """
        if iterator is None:
            return
        pending = []  # (history row, loss on the device)
        batch_count = 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            at_once = reads_at_once(loss)
            self.history.record_batch(prefix + "_loss", loss.item() if at_once else loss)
            if not at_once:
                pending.append((self.history[-1]["batches"][-1], loss))
            size = get_len(batch[0]) if isinstance(batch, (tuple, list)) else get_len(batch)
            self.history.record_batch(prefix + "_batch_size", size)
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        if pending:
            values = torch.stack([loss.float() for _, loss in pending]).tolist()
            for (row, _), value in zip(pending, values):
                row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", batch_count)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_compiled", None)  # a compiled function does not pickle; it is made again on use
        return state


def _set_plain(net, name, value):
    # skorch's __setattr__ would register a module-valued attribute as one of
    # the net's modules (moved, and its parameters given to the optimizer again)
    object.__setattr__(net, name, value)
