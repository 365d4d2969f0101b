"""Runs side by side: the headline run of a report against its reruns and the short run, verdict against verdict.

What a rerun repeats bit for bit is read off the records, never assumed: two results of one network and seed are
the same bit for bit when every epoch's validation RMSE and the final figures are equal as floats.
"""

import numpy as np

from keypoints.report.differences import headline, paired_seeds, per_cent

BITWISE_FIELDS = ("valid_rmse", "jittered_rmse", "best_epoch", "epochs")
"""What two results must share, besides every epoch's validation RMSE, to count as the same bit for bit."""


def run_label(run):
    """A run in a few words: preset, device and threads, start date."""
    where = "CUDA" if run.device == "cuda" else f"CPU, {run.threads} thread{'s' if run.threads != 1 else ''}"
    state = "" if run.finished else f", stopped after {len(run.results)} of {len(run.networks) * len(run.seeds)}"
    return f"`{run.preset}` ({where}, {run.started[:10]}{state})"


def same_bits(first, second):
    """Whether two results of one network and seed are equal as floats, epoch by epoch."""
    if any(getattr(first, name) != getattr(second, name) for name in BITWISE_FIELDS):
        return False
    return [row["valid_rmse"] for row in first.history] == [row["valid_rmse"] for row in second.history]


def verdict_of(run):
    """``(a, b, difference, base)`` of a run's headline pair, or None."""
    return headline(run)


def runs_table(runs):
    """One row per run: its design, the twins' mean RMSE, the difference, its interval and verdict, the time."""
    lines = [
        "| run | seeds (splits) | epochs per network, mean | first twin, RMSE | second twin, RMSE | difference | "
        "95 % interval | verdict | detectable (80 %) | took |",
        "|---|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for run in runs:
        found = verdict_of(run)
        if found is None:
            continue
        a, b, d, base = found
        seeds = paired_seeds(run, a, b)
        first = [r for r in run.results_of(a) if r.seed in seeds]
        second = [r for r in run.results_of(b) if r.seed in seeds]
        epochs = np.mean([r.epochs for r in first + second])
        interval = "-" if d.n < 2 else f"{d.low:+.3f} to {d.high:+.3f} px"
        splits = "own split each" if run.split_per_seed else "one split"
        detectable = "-" if d.n < 2 else f"{d.detectable:.3f} px"
        said = d.verdict if d.n >= 2 else "none (one seed)"
        means = np.mean([r.valid_rmse for r in first]), np.mean([r.valid_rmse for r in second])
        lines.append(
            f"| {run_label(run)} | {len(seeds)} ({splits}) | {epochs:.1f} | `{a}` {means[0]:.3f} | "
            f"`{b}` {means[1]:.3f} | {d.mean:+.3f} px ({per_cent(d.mean, base):+.1f} %) | {interval} | "
            f"{said} | {detectable} | {run.seconds / 60:.1f} min |"
        )
    return lines


def seed_table(first, second):
    """Seed by seed, the validation RMSE of each network in two runs of one preset, and whether they are the same."""
    names = [n for n in first.networks if n in second.networks]
    lines = [
        "| seed | network | "
        + f"{run_label(first)} | {run_label(second)} | second - first (px) | the same bit for bit |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for seed in first.seeds:
        for name in names:
            one = next((r for r in first.results_of(name) if r.seed == seed), None)
            two = next((r for r in second.results_of(name) if r.seed == seed), None)
            if one is None or two is None:
                continue
            lines.append(
                f"| {seed} | `{name}` | {one.valid_rmse:.4f} (best epoch {one.best_epoch} of {one.epochs}) | "
                f"{two.valid_rmse:.4f} (best epoch {two.best_epoch} of {two.epochs}) | "
                f"{two.valid_rmse - one.valid_rmse:+.4f} | {'yes' if same_bits(one, two) else 'no'} |"
            )
    return lines


def compared_results(first, second):
    """Pairs of results of one network and seed present in both runs."""
    pairs = []
    for one in first.results:
        two = next((r for r in second.results if r.name == one.name and r.seed == one.seed), None)
        if two is not None:
            pairs.append((one, two))
    return pairs


def bitwise_words(first, second):
    """What repeated bit for bit between two runs of one preset, in a sentence."""
    pairs = compared_results(first, second)
    if not pairs:
        return f"{run_label(second)} finished no network and seed that {run_label(first)} has, so nothing compares."
    same = sum(same_bits(one, two) for one, two in pairs)
    largest = max(abs(two.valid_rmse - one.valid_rmse) for one, two in pairs)
    if same == len(pairs):
        return (
            f"{run_label(second)} repeats all {len(pairs)} results of {run_label(first)} bit for bit, every epoch's "
            "validation RMSE included."
        )
    return (
        f"{run_label(second)} repeats {same} of {len(pairs)} results of {run_label(first)} bit for bit; the largest "
        f"difference of a result's validation RMSE is {largest:.4f} px."
    )


def agreement_words(run, other):
    """Whether ``run`` reaches the verdict of ``other`` (the headline run), in a clause."""
    mine, theirs = verdict_of(run), verdict_of(other)
    if mine is None or theirs is None:
        return "no pair of twins in one of the two runs, so no verdict to compare"
    if min(mine[2].n, theirs[2].n) < 2:
        return "one seed has no interval, so no verdict to set against the headline run's; seed by seed below"
    if mine[2].verdict == theirs[2].verdict:
        return f"the same verdict as the headline run: {mine[2].verdict}"
    return f"another verdict than the headline run: {mine[2].verdict}, where the headline run says {theirs[2].verdict}"


def what_repeats(run):
    """What the figures of a run depend on besides its seed, and so what a rerun must share to repeat them."""
    versions = run.versions or {}
    where = (
        "a CUDA GPU" if run.device == "cuda" else f"{versions.get('machine', 'a CPU')}, {run.threads} torch thread(s)"
    )
    return [
        f"This run: Python {versions.get('python', '?')}, torch {versions.get('torch', '?')}, {where}. A run repeats "
        "its figures bit for bit only with the same seeds, data, software, machine and thread count: the thread count "
        "changes the order of the sums inside torch's kernels, and the rounding differences grow through training. "
        "What a rerun on other threads or another machine should repeat is the verdict, within the interval; the "
        "rows below say whether it did."
    ]


def reproducibility_section(primary, others, left_out=()):
    """The report's section on reruns: the runs side by side, seed by seed where the preset is the same.

    Parameters
    ----------
    primary : TrainingRun
        The report's headline run.
    others : list of TrainingRun
        Its reruns (same preset, other threads or machines) and short runs of the same data.
    left_out : sequence of str
        The record files of the preset's runs with another recipe: named, not compared.
    """
    lines = ["## Reproducibility", "", *what_repeats(primary), ""]
    if left_out:
        names = ", ".join(f"`{name}`" for name in left_out)
        lines += [
            f"Left out: {len(left_out)} recorded run(s) of this preset with another recipe ({names} in "
            "`reports/runs/`); a rerun is set beside the headline only when it trained the same recipe.",
            "",
        ]
    if not others:
        return lines + [
            "No rerun of this preset is recorded in `reports/runs/` yet; a run there (another thread count, "
            "another machine) is set beside this one in this section the next time the report is written.",
            "",
        ]
    lines += [
        f"The headline run, {run_label(primary)}, beside the other recorded runs of the same data "
        "(`reports/runs/`; each row's interval uses its own design's test).",
        "",
        *runs_table([primary, *others]),
        "",
    ]
    for other in others:
        lines.append(f"- {run_label(other)}: {agreement_words(other, primary)}.")
    lines.append("")
    for other in others:
        if other.preset != primary.preset:
            continue
        lines += [f"### {run_label(primary)} and {run_label(other)}, seed by seed", ""]
        lines += [*seed_table(primary, other), "", bitwise_words(primary, other), ""]
    return lines
