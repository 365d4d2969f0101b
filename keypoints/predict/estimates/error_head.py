"""A learned error estimate: each keypoint's error, from what the network saw and how far its mirror image parted.

A model card may carry an ``error_head``: a straight line from

- the means of the feature maps the network's head reads, averaged over the face and its mirror image
  (:func:`keypoints.model.inference.predict_pixels_and_features`),
- the log of each keypoint's mirror disagreement (96-frame px), of their mean, and of the crop's side (photo px),
- for a heatmap network, the log of each keypoint's heatmap spread (96-frame px) and of their mean: the network's
  own doubt about each keypoint,

to the log of each keypoint's error and of the face's mean error, both over the eye distance. Two ridge regressions
fold into it (``tools/fit_error_head.py``): one fitted on the faces of people the network's training held out, as
the predictor cut them, on the features' first ``COMPONENTS`` principal components; one on every feature, fitted on
the training people's crops jittered as training jitters them (many more faces, but errors the network made on
people it learned from). Their lines are averaged (:func:`blend_heads`) and levelled on the held-out faces. Models
without a head keep the mirror line of :mod:`keypoints.predict.estimates.confidence`.
Why and how well: docs/decisions/0076-error-estimate-a-learned-head.md and
docs/decisions/0082-error-estimate-the-training-people.md.
"""

from dataclasses import dataclass

import numpy as np

from keypoints.data.schema import KEYPOINTS
from keypoints.errors import ModelFileError

COMPONENTS = 10
"""Principal components of the feature means the line reads."""

ALPHA = 300.0
"""The ridge penalty, on standardized inputs (docs/decisions/0076-error-estimate-a-learned-head.md)."""

GAP_FLOOR = 1e-3
"""96-frame px added to a mirror disagreement before its log: a gap of zero stays finite."""

CARD_KEY = "error_head"
"""The model card's entry holding the head."""

_LEFT_EYE, _RIGHT_EYE = KEYPOINTS.index("left_eye_center"), KEYPOINTS.index("right_eye_center")

_REFIT = "fit it again with tools/fit_error_head.py --write, or remove the entry to use the mirror line"


def head_inputs(features, gaps, sides, spreads=0):
    """The head's inputs, one row per face.

    Parameters
    ----------
    features : ndarray, shape (N, C + S)
        Feature means, averaged over each face and its mirror image; for a heatmap network the last ``S`` are
        the keypoints' heatmap spreads, 96-frame px.
    gaps : ndarray, shape (N, 15)
        Each keypoint's mirror disagreement, 96-frame px.
    sides : ndarray, shape (N,)
        The crops' sides, photo px.
    spreads : int
        ``S``: 0, or the number of keypoints for a heatmap network.

    Returns
    -------
    ndarray of float64, shape (N, C + 17), or (N, C + S + 18) with spreads: the feature means, the logs of the
    gaps, of their mean and of the side, then the logs of the spreads and of their mean.
    """
    features = np.asarray(features, np.float64)
    gaps = np.asarray(gaps, np.float64)
    columns = [
        features[:, : features.shape[1] - spreads],
        np.log(gaps + GAP_FLOOR),
        np.log(gaps.mean(axis=1) + GAP_FLOOR),
        np.log(np.asarray(sides, np.float64)),
    ]
    if spreads:
        spread = features[:, -spreads:]
        columns += [np.log(spread + GAP_FLOOR), np.log(spread.mean(axis=1) + GAP_FLOOR)]
    return np.column_stack(columns)


def _extra_inputs(spreads):
    """The head's inputs besides the feature means: 15 gaps, their mean, the side, and the spreads and their mean."""
    return len(KEYPOINTS) + 2 + (spreads + 1 if spreads else 0)


@dataclass(frozen=True)
class ErrorHead:
    """The fitted line.

    Attributes
    ----------
    weights : ndarray of float64, shape (I, 16)
        From :func:`head_inputs` (``I`` of them) to the logs of the 15 keypoints' errors and the face's, over the
        eye distance.
    bias : ndarray of float64, shape (16,)
    level : ndarray of float64, shape (16,)
        Factors on the exponentials, so that the estimates' means equal the true errors' on the fitted faces (the
        exponential of a fitted log is a median, below the mean).
    faces : int
        How many faces it was fitted on.
    spreads : int
        How many of the features, at their end, are heatmap spreads (0 for a network without heatmaps).
    """

    weights: np.ndarray
    bias: np.ndarray
    level: np.ndarray
    faces: int = 0
    spreads: int = 0

    @property
    def feature_count(self):
        """C + S, the number of features the head reads from the network (means and spreads)."""
        return self.weights.shape[0] - _extra_inputs(self.spreads) + self.spreads

    def relative(self, features, gaps, sides):
        """Estimated errors over the eye distance.

        Returns
        -------
        face : ndarray of float64, shape (N,)
        keypoints : ndarray of float64, shape (N, 15)
            Scaled so that each face's mean is ``face``.
        """
        fitted = head_inputs(features, gaps, sides, self.spreads) @ self.weights + self.bias
        each = np.exp(fitted) * self.level
        face, keypoints = each[:, -1], each[:, :-1]
        return face, keypoints * (face / keypoints.mean(axis=1))[:, None]

    def estimate(self, features, gaps, sides, keypoints):
        """Estimated errors in photo px: the relative ones times each face's predicted eye distance.

        Parameters
        ----------
        features, gaps, sides
            As for :func:`head_inputs`.
        keypoints : ndarray, shape (N, 15, 2)
            The predicted keypoints, photo px.

        Returns
        -------
        face : ndarray of float64, shape (N,)
        keypoints : ndarray of float64, shape (N, 15)
        """
        points = np.asarray(keypoints, np.float64).reshape(len(sides), len(KEYPOINTS), 2)
        eyes = np.linalg.norm(points[:, _LEFT_EYE] - points[:, _RIGHT_EYE], axis=1)
        face, each = self.relative(features, gaps, sides)
        return face * eyes, each * eyes[:, None]

    def to_card(self):
        """Plain data for the model card."""
        spreads = ", log heatmap spread of each keypoint (S) and of their mean" if self.spreads else ""
        return {
            "inputs": "feature means (C), log mirror gap of each keypoint (15) and of their mean, log crop side"
            + spreads,
            "outputs": "log error over the eye distance of each keypoint (15) and of the face",
            "weights": np.round(self.weights, 7).tolist(),
            "bias": np.round(self.bias, 7).tolist(),
            "level": np.round(self.level, 7).tolist(),
            "faces": int(self.faces),
            "spreads": int(self.spreads),
        }

    @classmethod
    def from_card(cls, card):
        """The head a model card carries, or None.

        Raises
        ------
        ModelFileError
            The card's entry is not a head: missing parts, wrong shapes, or numbers that are not finite.
        """
        entry = (card or {}).get(CARD_KEY)
        if entry is None or (isinstance(entry, (dict, list, str, bool, int, float)) and not entry):
            return None
        if not isinstance(entry, dict):
            raise ModelFileError(
                f"the model card's {CARD_KEY} is {type(entry).__name__}, not a table of weights, bias and level; "
                f"{_REFIT}"
            )
        outputs = len(KEYPOINTS) + 1
        try:
            head = cls(
                np.asarray(entry["weights"], np.float64),
                np.asarray(entry["bias"], np.float64),
                np.asarray(entry["level"], np.float64),
                int(entry.get("faces", 0)),
                int(entry.get("spreads", 0)),
            )
            shapes_ok = (
                head.weights.ndim == 2
                and head.weights.shape[1] == outputs
                and head.spreads in (0, len(KEYPOINTS))
                and head.feature_count > head.spreads
                and head.bias.shape == head.level.shape == (outputs,)
            )
            finite = all(np.isfinite(a).all() for a in (head.weights, head.bias, head.level))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
            raise ModelFileError(f"the model card's {CARD_KEY} cannot be read ({error}); {_REFIT}") from error
        if not (shapes_ok and finite):
            raise ModelFileError(
                f"the model card's {CARD_KEY} has weights {head.weights.shape}, bias {head.bias.shape} and level "
                f"{head.level.shape} and {head.spreads} spreads (expected (C + 17, {outputs}), or (C + 33, {outputs}) "
                f"with {len(KEYPOINTS)} spreads, ({outputs},), ({outputs},), all finite); {_REFIT}"
            )
        return head


def fit_error_head(features, gaps, sides, errors, weights=None, components=COMPONENTS, alpha=ALPHA, spreads=0):
    """Fit the head on faces whose true errors are known.

    Parameters
    ----------
    features, gaps, sides, spreads
        As for :func:`head_inputs`, N faces.
    errors : ndarray, shape (N, 15)
        Each keypoint's true error over the true eye distance.
    weights : ndarray, shape (N,), optional
        Each face's weight in the fit (default: all 1).
    components : int or None
        None: every feature, turned onto its principal directions (the same ridge as on the features themselves).
    alpha : float

    Returns
    -------
    ErrorHead
    """
    inputs, targets = head_inputs(features, gaps, sides, spreads), _targets(errors)
    weights = np.ones(len(inputs)) if weights is None else np.asarray(weights, np.float64)
    share = weights / weights.sum()
    count = np.asarray(features).shape[1] - spreads  # the means; the spreads stay as they are, as the gaps do
    components = count if components is None else components
    mean = share @ inputs
    std = np.sqrt(share @ (inputs - mean) ** 2)
    constant = std < 1e-9  # an input the same on every face (crops of one side) gets no weight, not a huge one
    std = np.where(constant, 1.0, std)
    standard = np.where(constant, 0.0, (inputs - mean) / std)
    root = np.sqrt(weights)[:, None]  # weighted least squares: rows scaled by the root of their weight
    # the features' principal directions (of their standardized values); the other inputs stay as they are
    _, _, directions = np.linalg.svd(root * standard[:, :count], full_matrices=False)
    projection = np.zeros((inputs.shape[1], components + inputs.shape[1] - count))
    projection[:count, :components] = directions[:components].T
    projection[count:, components:] = np.eye(inputs.shape[1] - count)
    reduced = standard @ projection
    centre = share @ targets
    gram = (root * reduced).T @ (root * reduced) + alpha * np.eye(reduced.shape[1])
    coefficients = np.linalg.solve(gram, (root * reduced).T @ (root * (targets - centre)))
    # standardize, project and regress fold into one line on the raw inputs
    line = (projection @ coefficients) / std[:, None]
    bias = centre - mean @ line
    level = _level(inputs, line, bias, targets, share)
    return ErrorHead(line, bias, level, int(np.count_nonzero(weights)), spreads)


def blend_heads(first, second, share, features, gaps, sides, errors):
    """One head from two: the weighted mean of their lines (a geometric mean of their estimates), levelled again.

    Parameters
    ----------
    first, second : ErrorHead
        Reading the same inputs.
    share : float
        The first head's weight, 0 to 1.
    features, gaps, sides, errors
        As for :func:`fit_error_head`: the faces the blend is levelled on.

    Returns
    -------
    ErrorHead
    """
    line = share * first.weights + (1 - share) * second.weights
    bias = share * (first.bias + np.log(first.level)) + (1 - share) * (second.bias + np.log(second.level))
    inputs, targets = head_inputs(features, gaps, sides, first.spreads), _targets(errors)
    level = _level(inputs, line, bias, targets, np.full(len(inputs), 1 / len(inputs)))
    return ErrorHead(line, bias, level, first.faces + second.faces, first.spreads)


def _targets(errors):
    """(N, 15) errors over the eye distance to the head's (N, 16) targets: their logs and their mean's."""
    errors = np.maximum(np.asarray(errors, np.float64), 1e-6)
    return np.log(np.column_stack([errors, errors.mean(axis=1)]))


def _level(inputs, line, bias, targets, share):
    """Factors on the exponentials of a line, so that the estimates' weighted means equal the true errors'."""
    return (share @ np.exp(targets)) / (share @ np.exp(inputs @ line + bias))
