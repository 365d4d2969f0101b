"""The report stage of ``keypoints train``: composes a :class:`~keypoints.training.trainer.TrainingRun` into
``reports/comparison.md`` and its figures.

Called by the command line after training; it reads what training returned and never trains.
"""

from pathlib import Path

from keypoints import atomic
from keypoints.explain.training_figures import explanations_markdown, synthetic_face, write_training_explanations
from keypoints.report.comparison import (
    KEYPOINT_DIFFERENCE,
    LEARNING_CURVES,
    comparison_markdown,
    keypoint_differences,
    trained_pairs,
)
from keypoints.report.figures import plot_keypoint_differences, plot_learning_curves

__all__ = ["comparison_markdown", "write_report"]


def write_report(run, reports_dir=None, explain=True):
    """Write ``comparison.md`` and its figures for a training run.

    Parameters
    ----------
    run : keypoints.training.trainer.TrainingRun
    reports_dir : str or Path, optional
        Default: the run's ``settings.reports_dir``.
    explain : bool
        Add the saliency and occlusion figures of each saved network. On real data they are drawn on
        a synthetic face, so the report can be shared: a face of the training data may not be.

    Returns
    -------
    Path
        The report.
    """
    reports_dir = Path(reports_dir or run.settings.reports_dir)
    (reports_dir / "figures").mkdir(parents=True, exist_ok=True)
    plot_learning_curves(run, reports_dir / LEARNING_CURVES)
    text = comparison_markdown(run)
    pairs = trained_pairs(run)
    if pairs:
        a, b = pairs[0]
        plot_keypoint_differences(
            keypoint_differences(run, a, b),
            f"{b} minus {a}, per keypoint (mean over seeds, 95 % interval)",
            reports_dir / KEYPOINT_DIFFERENCE,
        )
    if explain and run.modules:
        # "synthetic_" in every name: these figures show no face of real data, so git keeps them
        if run.synthetic:
            written = write_training_explanations(run.modules, run.split, reports_dir, prefix="synthetic_")
            source = "The same validation face (synthetic)"
        else:
            written = write_training_explanations(
                run.modules, run.split, reports_dir, face=synthetic_face(), prefix="synthetic_"
            )
            source = "A synthetic face (a face of the real training data may not be shared), the same"
        text += explanations_markdown(written, reports_dir, face_source=source)
    path = reports_dir / "comparison.md"
    return atomic.write_text(path, text)  # a reader never sees half a report
