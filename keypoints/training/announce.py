"""What a training run says of itself: the settings as resolved at the top of the log, each training's recipe in
words, and the software and machine its figures depend on."""

import platform

import torch


def announce(resolved, device, say):
    """The settings as resolved (the preset's networks, epochs and seeds where none were asked), and the device."""
    for key, value in resolved.items():
        if value is None or value == ():  # not given and not resolved (photos of a CSV run): nothing to say
            continue
        say(f"  {key:15s} {', '.join(map(str, value)) if isinstance(value, tuple) else value}")
    say(f"  {'device used':15s} {device}" + (" (bf16 autocast)" if device == "cuda" else ""))
    say(f"  {'torch threads':15s} {torch.get_num_threads()}")


def epochs_text(recipes):
    """The epoch limit of each network, as printed: one number when they share it."""
    limits = {name: recipe.epochs for name, recipe in recipes.items()}
    if len(set(limits.values())) == 1:
        return str(next(iter(limits.values())))
    return ", ".join(f"{name} {epochs}" for name, epochs in limits.items())


def run_versions():
    """What the figures of a run depend on besides its seed: the software and the machine."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
    }


def recipe_words(recipe):
    return (
        f"{recipe.epochs} epochs at most, {recipe.optimizer}"
        + (f" ({recipe.schedule})" if recipe.optimizer == "adamw" else "")
        + f", lr {recipe.lr:g}, batch {recipe.batch_size}"
    )
