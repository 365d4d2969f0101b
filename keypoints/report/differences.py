"""Paired differences of two networks over a run's seeds, with the test the run's design calls for, and the verdict.

Seeds that share one split differ only in the training's randomness: their differences are independent and
Student's paired t-interval fits. Seeds that each drew their own split of the same faces trained on overlapping
sets, so their differences are correlated: the corrected resampled t-test widens the interval for that
(:func:`keypoints.report.stats.corrected_paired_difference`).
"""

import numpy as np

from keypoints.data.schema import KEYPOINTS
from keypoints.report.stats import BETTER, NO_DIFFERENCE, POWER, WORSE, corrected_paired_difference, paired_difference

PAIRS = (("bnconv", "bnlocal"), ("conv", "local"), ("conv", "hybrid"))
"""Networks compared seed by seed, the shared-weights one first; the first pair trained gives the verdict."""


def trained_pairs(run):
    """The pairs of :data:`PAIRS` whose both networks were trained in ``run``."""
    return [(a, b) for a, b in PAIRS if a in run.networks and b in run.networks]


def paired_seeds(run, a, b):
    """The seeds both ``a`` and ``b`` finished, in the run's order."""
    first = {r.seed for r in run.results_of(a)}
    second = {r.seed for r in run.results_of(b)}
    return [seed for seed in run.seeds if seed in first and seed in second]


def paired(run, a, b, value):
    """Seed-by-seed values ``value(result)`` of networks ``a`` and ``b``, over the seeds both finished."""
    first = {r.seed: r for r in run.results_of(a)}
    second = {r.seed: r for r in run.results_of(b)}
    seeds = paired_seeds(run, a, b)
    return [value(first[s]) for s in seeds], [value(second[s]) for s in seeds]


def split_sizes(run, a, b):
    """Mean training and validation faces of the paired seeds' splits."""
    first = {r.seed: r for r in run.results_of(a)}
    seeds = paired_seeds(run, a, b)
    return (
        float(np.mean([first[s].n_train for s in seeds])),
        float(np.mean([first[s].n_valid for s in seeds])),
    )


def difference(run, a, b, value):
    """The paired difference ``value(b) - value(a)`` over the seeds, tested as the run's design calls for."""
    first, second = paired(run, a, b, value)
    if run.split_per_seed:
        return corrected_paired_difference(first, second, *split_sizes(run, a, b))
    return paired_difference(first, second)


def method_words(run, a, b):
    """Which test the intervals come from, in a sentence."""
    seeds = paired_seeds(run, a, b)
    if run.split_per_seed:
        n_train, n_valid = split_sizes(run, a, b)
        return (
            f"every seed drew its own split by person, so the intervals are those of the corrected resampled t-test "
            f"(Nadeau and Bengio): the variance of the mean difference is (1/J + n_valid/n_train) s² = "
            f"(1/{len(seeds)} + {n_valid:.0f}/{n_train:.0f}) s², not s²/J, because the training sets overlap"
        )
    return (
        "the seeds share one split, so the intervals are Student's paired t-intervals over seeds: they measure the "
        "spread of training runs, not of the people who happen to be held out"
    )


def pair_differences(run, a, b):
    """Paired differences ``b - a`` of the validation RMSE: centred, jittered, and jittered minus centred.

    Returns
    -------
    dict of str to PairedDifference
    """
    return {
        "centred faces": difference(run, a, b, lambda r: r.valid_rmse),
        "jittered faces": difference(run, a, b, lambda r: r.jittered_rmse),
        "jittered minus centred": difference(run, a, b, lambda r: r.jittered_rmse - r.valid_rmse),
    }


def keypoint_differences(run, a, b):
    """Per-keypoint paired differences ``b - a``, for centred and for jittered faces."""
    return {
        "centred faces": {k: difference(run, a, b, lambda r, k=k: r.per_keypoint[k]) for k in KEYPOINTS},
        "jittered faces": {k: difference(run, a, b, lambda r, k=k: r.jittered_per_keypoint[k]) for k in KEYPOINTS},
    }


def reference(run, a, b, value=lambda r: r.valid_rmse):
    """The mean of ``a`` over the paired seeds: the base of the differences in per cent."""
    return float(np.mean(paired(run, a, b, value)[0]))


def per_cent(value, base):
    """``value`` as a signed per cent of ``base``."""
    return 100 * value / base


def describe(difference, a, b, base):
    """One clause on a paired difference ``b - a`` of an error: the verdict, its size in px and %, its interval."""
    size = f"{abs(difference.mean):.3f} px ({abs(per_cent(difference.mean, base)):.1f} %"
    if difference.n < 2:
        return f"`{b}` is {size}) {'better' if difference.mean < 0 else 'worse'} than `{a}` (one seed: no interval)"
    interval = (
        f"95 % interval {difference.low:+.3f} to {difference.high:+.3f} px, "
        f"{per_cent(difference.low, base):+.1f} to {per_cent(difference.high, base):+.1f} %, {difference.n} seeds"
    )
    if difference.verdict == BETTER:
        return f"`{b}` is better than `{a}` by {size}; {interval})"
    if difference.verdict == WORSE:
        return f"`{b}` is worse than `{a}` by {size}; {interval})"
    return (
        f"{NO_DIFFERENCE} between `{b}` and `{a}` ({difference.mean:+.3f} px, "
        f"{per_cent(difference.mean, base):+.1f} %; {interval})"
    )


def detectable_words(difference, base):
    """The precision of a design: the smallest true difference it shows 4 times in 5."""
    if difference.n < 2:
        return "one seed has no precision to speak of"
    return (
        f"the smallest true difference this design shows {100 * POWER:.0f} % of the time is "
        f"{difference.detectable:.3f} px ({per_cent(difference.detectable, base):.1f} %; "
        f"the interval's half-width is {difference.half_width:.3f} px)"
    )


def headline(run):
    """``(a, b, centred difference, base)`` of the run's first trained pair, or None without a pair."""
    pairs = trained_pairs(run)
    if not pairs or not paired_seeds(run, *pairs[0]):
        return None
    a, b = pairs[0]
    return a, b, pair_differences(run, a, b)["centred faces"], reference(run, a, b)


def verdict(run):
    """The report's opening sentences: the answer with its uncertainty and the design's precision."""
    found = headline(run)
    if found is None:
        means = {n: np.mean([r.valid_rmse for r in run.results_of(n)]) for n in run.networks if run.results_of(n)}
        best = min(means, key=means.get)
        return (
            f"No networks that differ only in weight sharing were trained; the most accurate is `{best}` "
            f"at {means[best]:.3f} px mean validation RMSE over {len(run.results_of(best))} seed(s)."
        )
    a, b, centred, base = found
    differences = pair_differences(run, a, b)
    jittered_base = reference(run, a, b, lambda r: r.jittered_rmse)
    change = differences["jittered minus centred"]
    if change.n < 2:
        effect = "one seed cannot say whether jitter changes the difference."
    elif change.excludes_zero:
        effect = (
            f"jitter moves the difference by {change.mean:+.3f} px (95 % interval {change.low:+.3f} to "
            f"{change.high:+.3f} px): the effect of weight sharing depends on how centred the faces are."
        )
    else:
        effect = (
            f"jitter does not measurably change the difference ({change.mean:+.3f} px, 95 % interval "
            f"{change.low:+.3f} to {change.high:+.3f} px)."
        )
    return (
        f"On centred faces {describe(centred, a, b, base)}; {detectable_words(centred, base)}. On jittered faces "
        f"{describe(differences['jittered faces'], a, b, jittered_base)}; {effect}"
    )
