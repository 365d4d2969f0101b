"""Checks at the edges: command-line numbers refused at parse time, predictions that must be finite.

The argument types raise ``argparse.ArgumentTypeError``, so argparse prints
``keypoints train: error: argument --mirror-sum: ...`` and exits with 2
before any work; library code never calls them.
"""

import argparse
import math
import os
import sys

import numpy as np

from keypoints.errors import BrokenModelError

MAX_SEED = 2**32 - 1
"""The largest seed every generator here accepts (NumPy's legacy seeding stops at 2**32 - 1)."""


def finite_float(text):
    """An argparse type: a float that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number; give an ordinary number such as 97")
    return value


def fraction(text):
    """An argparse type: a finite float from 0 to 1."""
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction from 0 to 1")
    return value


def positive_int(text):
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def seed(text):
    """An argparse type: a seed from 0 to ``MAX_SEED``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range; a seed is a whole number from 0 to {MAX_SEED}")
    return value


def whole_number_from(low, high, what):
    """An argparse type: a whole number from ``low`` to ``high``; ``what`` says what it counts, for the message."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r} is out of range: {what} is a whole number from {low:,} to {high:,}"
            )
        return value

    parse.__name__ = f"whole number from {low} to {high}"
    return parse


def number_from(low, high, what, open_ends=False):
    """An argparse type: a finite number from ``low`` to ``high`` (both excluded with ``open_ends``)."""

    def parse(text):
        value = finite_float(text)
        inside = low < value < high if open_ends else low <= value <= high
        if not inside:
            ends = f"more than {low:g} and less than {high:g}" if open_ends else f"from {low:g} to {high:g}"
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: {what} is a number {ends}")
        return value

    parse.__name__ = f"number from {low} to {high}"
    return parse


MAX_FACES = 100_000
"""Most synthetic faces ``synth`` writes: 0.9 GB of pixels (the Kaggle training file has 7049 faces)."""

face_count = whole_number_from(1, MAX_FACES, "the number of faces")
epoch_count = whole_number_from(1, 100_000, "the number of epochs")
seed_count = whole_number_from(1, 100, "the number of training runs per network")
frames_between = whole_number_from(1, 1_000_000, "the number of frames between detections")
face_pixels = whole_number_from(1, 96, "a side in pixels of the 96x96 face")
MAX_UPSAMPLE = 8
"""The largest ``--upsample``: 8 times the detector's usual search copy is a 5120-px image per photo."""
upsample_factor = whole_number_from(1, MAX_UPSAMPLE, "--upsample (times the usual search copy)")
MAX_WORKERS = 64
"""The most ``--workers``: far more threads than a machine has cores only wait."""
worker_count = whole_number_from(1, MAX_WORKERS, "--workers (photos predicted at once)")
valid_fraction = number_from(0, 1, "the share of people kept for validation", open_ends=True)
mirror_sum = number_from(
    48,
    144,
    "x + mirrored x of the labels in pixels (97 for the Kaggle faces; the mirror axis lies within the "
    "middle half of the 96-pixel frame)",
)
"""The argparse types of the commands' numeric options, each with its range (see
docs/decisions/0050-ranges-of-the-numeric-options.md)."""


def name_list(text):
    """An argparse type: a comma-separated list of names with at least one name, none twice."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names nothing; give one or more names separated by commas")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{text!r} names {', '.join(repeated)} more than once")
    return names


def path_text(text):
    """An argparse type: a path that is not empty (an empty one would quietly mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is an empty path; give a file or folder, or leave the option out")
    return text


PATH_DESTS = frozenset(
    {"csv", "out", "data", "model", "models_dir", "reports_dir", "test", "lookup", "paths", "images"}
)
"""Argument names that hold paths, in every command."""


def refuse_empty_paths(parser):
    """Give every path argument of ``parser`` and its commands the :func:`path_text` type (where it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                refuse_empty_paths(command)
        elif action.dest in PATH_DESTS and action.type is None:
            action.type = path_text
    return parser


class Parser(argparse.ArgumentParser):
    """The command line's parser: an error where an argument is a file whose name starts with ``-`` says how to
    pass that file (argparse reads such a name as an option, and its own message does not say so)."""

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        given = getattr(self, "_given", [])
        command = self.prog
        if " " not in command and given and not given[0].startswith("-"):  # the top parser: name the command too
            command = f"{command} {given[0]}"
        super().error(message + dash_name_hint(given, command))


def dash_name_hint(arguments, command="keypoints <command>"):
    """What an argparse error adds when an argument before ``--`` names an existing file that starts with ``-``.

    Parameters
    ----------
    arguments : sequence of str
        The command line's arguments.
    command : str
        The command, for the example (``"keypoints predict"``).

    Returns
    -------
    str
        ``"; -2+3.jpg is a file, ..."``; empty when no such argument is there.
    """
    arguments = list(arguments)
    before = arguments[: arguments.index("--")] if "--" in arguments else arguments
    files = [a for a in before if a.startswith("-") and a != "-" and os.path.lexists(a)]
    if not files:
        return ""
    name = files[0]
    return (
        f"; {name} is a file, but a name that starts with '-' reads as an option: put -- after the options, "
        f"before the paths ({command} [OPTIONS] -- {name}), or write it as ./{name}"
    )


def check_finite_predictions(predicted, model_path):
    """Raise when a model's predictions hold NaN or infinite values, so they are never written as results.

    Parameters
    ----------
    predicted : ndarray, shape (N, K)
        Keypoints predicted by the model (any scale).
    model_path : str or Path
        The model file, for the message.

    Raises
    ------
    BrokenModelError
    """
    predicted = np.asarray(predicted)
    bad = ~np.isfinite(predicted)
    if bad.any():
        faces = int(bad.any(axis=tuple(range(1, predicted.ndim))).sum()) if predicted.ndim > 1 else int(bad.sum())
        raise BrokenModelError(
            f"{model_path}: the model predicts NaN or infinite keypoints ({faces} of {len(predicted)} faces), "
            "so it is broken: its training diverged or was given a non-finite setting. Nothing was written; "
            "train it again (`keypoints train`) or use another --model."
        )
