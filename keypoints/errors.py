"""The one exception family of the package.

Every error that a user can cause (bad data, a bad model file, an impossible
network geometry, a training run that diverged) is a :class:`KeypointsError`,
so the command line can print it as a short ``error:`` block with no traceback.
"""


class KeypointsError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(KeypointsError):
    """A data file is missing, malformed, or holds values that cannot be right."""


class GeometryError(KeypointsError):
    """A layer's input, kernel, stride and padding give no whole output size."""


class ModelFileError(KeypointsError):
    """A model file is missing, not one of ours, or does not match its network."""


class DetectorFileError(ModelFileError):
    """The face detector's model file is missing or is not the file the package shipped."""


class DetectorError(KeypointsError):
    """A face detector cannot be made as asked: an unknown name, or a setting out of its range."""


class TrainingError(KeypointsError):
    """Training cannot go on (for example the loss became NaN or infinite)."""


class ImageError(KeypointsError):
    """A photo cannot be read: missing, empty, not an image, or truncated."""


class BoxError(KeypointsError):
    """Face boxes given to the predictor are not (N, 4) finite numbers of positive size."""


class VideoError(KeypointsError):
    """A video cannot be read, or was cut short."""


class NoPhotosError(KeypointsError):
    """The paths given to the predictor hold no photos."""


class ConversionError(KeypointsError):
    """A network has no fully-convolutional form (locally-connected, padded, unknown layers)."""


def problem_lines(problems, shown):
    """The first ``shown`` problems, one per indented line, then how many more there are.

    Parameters
    ----------
    problems : sequence
        Each written with ``str``.
    shown : int
        How many to list.

    Returns
    -------
    str
        ``"  first\n  second\n  ... and 3 more"``; empty for no problems.
    """
    lines = [f"  {problem}" for problem in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"  ... and {len(problems) - shown} more")
    return "\n".join(lines)


class OutputPathError(KeypointsError):
    """An output path cannot be used: it is an input, a file where a folder is needed, not writable, or locked."""


class InputTooLargeError(DataError):
    """A data file holds more than the documented limit of unpacked bytes."""


class BrokenModelError(ModelFileError):
    """A model predicts (or holds) NaN or infinite numbers: it trained badly and cannot give results."""


class TrainingInterruptedError(KeypointsError):
    """Training was stopped with Ctrl-C; the message says what was kept.

    What users see; inside training the stop travels as
    :class:`keypoints.training.interrupts.FitInterrupted`, a ``KeyboardInterrupt``.

    Attributes
    ----------
    exit_code : int
        130, the shell's code for a run ended by SIGINT.
    """

    exit_code = 130
