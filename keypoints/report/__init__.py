"""The report stage of ``keypoints train``: composes a :class:`~keypoints.training.trainer.TrainingRun` into
``reports/comparison.md`` (``reports/conclusive.md`` for the conclusive preset) and its figures.

Called by the command line after training; it reads what training returned, and the records of earlier runs in
``reports/runs/``, and never trains. The conclusive report's headline is the first finished conclusive run of the
data: a later one is a rerun, set beside it, and never takes its place.
"""

from pathlib import Path

from keypoints import atomic
from keypoints.errors import KeypointsError
from keypoints.explain.training_figures import explanations_markdown, synthetic_face, write_training_explanations
from keypoints.report import photos
from keypoints.report.comparison import comparison_markdown, figure_names
from keypoints.report.differences import keypoint_differences, trained_pairs
from keypoints.report.figures import plot_keypoint_differences, plot_learning_curves
from keypoints.report.records import read_records, record_path, write_record
from keypoints.report.shipping import PHOTO_RECIPE, TWINS_ON_PHOTOS, photo_recipe_twins, twins_on_photos
from keypoints.training.presets import recipe_for, report_name

__all__ = ["comparison_markdown", "rewrite_reports", "write_report"]

SHORT_PRESETS = ("default",)
"""Presets whose runs a conclusive report sets beside its own as the short run (the latest one)."""


def _same(run, other):
    return run.started == other.started and run.threads == other.threads and run.device == other.device


def of_the_preset(run):
    """Whether every result of ``run`` was trained with its preset's recipe as the code has it now."""
    try:
        return all(result.recipe == recipe_for(result.name, run.preset) for result in run.results)
    except KeypointsError:  # a network or preset this version no longer has
        return False


def conclusive_headline(records):
    """The first finished conclusive run among ``records`` (oldest first) trained with the preset's recipe of
    today; when none was, the first finished conclusive run; None when there is none."""
    finished = [r for r in records if r.preset == "conclusive" and r.finished]
    return next((r for r in finished if of_the_preset(r)), finished[0] if finished else None)


def _same_recipes(run, other):
    mine = {r.name: r.recipe for r in run.results}
    return all(mine.get(r.name, r.recipe) == r.recipe for r in other.results)


def report_runs(run, records):
    """``(headline, others, conclusive, left_out)`` of the report that ``run`` writes, given the recorded runs of
    its data.

    A conclusive report keeps its first finished run of the preset's recipe as the headline and shows the other
    conclusive runs of that recipe and the latest short run beside it; conclusive runs of another recipe are
    ``left_out`` (their record files' names). Any other report is of ``run`` itself, checked against the
    conclusive headline.
    """
    records = [r for r in records if not _same(r, run)] + [run]
    records.sort(key=lambda r: r.started or "")
    conclusive = conclusive_headline(records)
    if run.preset != "conclusive":
        return run, [], conclusive, []
    headline = conclusive or run
    others = [r for r in records if r.preset == "conclusive" and not _same(r, headline)]
    reruns = [r for r in others if _same_recipes(headline, r)]
    left_out = [record_path(r, ".").name for r in others if not _same_recipes(headline, r)]
    short = [r for r in records if r.preset in SHORT_PRESETS and r.finished][-1:]
    return headline, reruns + short, None, left_out


def write_report(run, reports_dir=None, explain=True, records=None):
    """Write the report of a training run and its figures; its record too, when the run has a start time.

    Parameters
    ----------
    run : keypoints.training.trainer.TrainingRun
    reports_dir : str or Path, optional
        Default: the run's ``settings.reports_dir``.
    explain : bool
        Add the saliency and occlusion figures of each saved network (not in the conclusive report). On real
        data they are drawn on a synthetic face, so the report can be shared: a face of the training data may not be.
    records : list of TrainingRun, optional
        The recorded runs to set beside it; default: those in ``reports_dir/runs/`` of the same data.

    Returns
    -------
    Path
        The report.
    """
    reports_dir = Path(reports_dir or run.settings.reports_dir)
    (reports_dir / "figures").mkdir(parents=True, exist_ok=True)
    if run.started is not None:
        write_record(run, reports_dir)
    if run.settings.photos:
        return _write_photos_report(run, reports_dir)
    if records is None:
        records = read_records(reports_dir, run.split.sha256)
    headline, others, conclusive, left_out = report_runs(run, records)
    text = _write_report_files(headline, reports_dir, others, conclusive, left_out)
    if explain and headline is run and run.modules and report_name(run.preset) == "comparison":
        text += _explanations(run, reports_dir)
    return atomic.write_text(reports_dir / f"{report_name(headline.preset)}.md", text)  # never half a report


def _write_photos_report(run, reports_dir):
    """A run on labelled photos: its own report, its own figure."""
    plot_learning_curves(run, reports_dir / photos.LEARNING_CURVES)
    return atomic.write_text(reports_dir / photos.REPORT, photos.photos_markdown(run))


def _write_report_files(run, reports_dir, others, conclusive, left_out=()):
    """The figures of ``run``, and the report's text (without the explanations). A conclusive report also quotes
    the twins trained on labelled photos, from ``reports_dir/twins-on-photos/runs/``; every report quotes the second
    twin trained with the photo recipe, from ``reports_dir/bnlocal-photos/runs/``."""
    figures = figure_names(run.preset)
    plot_learning_curves(run, reports_dir / figures["curves"])
    pairs = trained_pairs(run)
    if pairs:
        a, b = pairs[0]
        plot_keypoint_differences(
            keypoint_differences(run, a, b),
            f"{b} minus {a}, per keypoint (mean over seeds, 95 % interval)",
            reports_dir / figures["keypoints"],
        )
    photo_twins = None
    if run.preset == "conclusive":
        photo_twins = twins_on_photos(read_records(reports_dir / TWINS_ON_PHOTOS))
    photo_recipe = photo_recipe_twins(read_records(reports_dir), read_records(reports_dir / PHOTO_RECIPE))
    return comparison_markdown(run, others, conclusive, left_out, photo_twins, photo_recipe)


def _explanations(run, reports_dir):
    # "synthetic_" in every name: these figures show no face of real data, so git keeps them
    if run.synthetic:
        written = write_training_explanations(run.modules, run.split, reports_dir, prefix="synthetic_")
        source = "The same validation face (synthetic)"
    else:
        written = write_training_explanations(
            run.modules, run.split, reports_dir, face=synthetic_face(), prefix="synthetic_"
        )
        source = "A synthetic face (a face of the real training data may not be shared), the same"
    return explanations_markdown(written, reports_dir, face_source=source)


def rewrite_reports(reports_dir):
    """Compose the reports again from the records in ``reports_dir/runs/`` alone: the conclusive report of each
    data file, and the short run's report from the latest finished short run (its explanation figures, drawn by
    its own training, are kept where they are).

    Returns
    -------
    list of Path
        The reports written.
    """
    reports_dir = Path(reports_dir)
    records = read_records(reports_dir)
    written = []
    for run in [r for r in records if r.settings.photos and r.finished][-1:]:
        written.append(_write_photos_report(run, reports_dir))
    records = [r for r in records if not r.settings.photos]
    for sha256 in dict.fromkeys(r.split.sha256 for r in records):
        mine = [r for r in records if r.split.sha256 == sha256]
        headline = conclusive_headline(mine)
        if headline is not None:
            headline_runs = report_runs(headline, mine)
            text = _write_report_files(headline_runs[0], reports_dir, *headline_runs[1:])
            written.append(atomic.write_text(reports_dir / "conclusive.md", text))
        short = [r for r in mine if r.preset in SHORT_PRESETS and r.finished][-1:]
        for run in short:
            text = _write_report_files(run, reports_dir, [], headline)
            figures = sorted((reports_dir / "figures").glob("synthetic_*_*.png"))
            if figures:
                source = "A synthetic face (a face of the real training data may not be shared), the same"
                text += explanations_markdown(figures, reports_dir, face_source=source)
            written.append(atomic.write_text(reports_dir / "comparison.md", text))
    return written


__all__ += ["record_path"]
