"""The report of a run on labelled photos (``keypoints train --photos``): ``reports/photos.md``.

Its own file, so the CSV comparison of ``make train`` (``reports/comparison.md``) keeps its meaning. It names every
source with its faces, the faces the detector missed and the terms, and gives each network's validation figures per
source, on people held out from every source.
"""

from keypoints.report.comparison import device_description

REPORT = "photos.md"
LEARNING_CURVES = "figures/photos_learning_curves.png"


def photos_markdown(run):
    """The photo run's report text.

    Parameters
    ----------
    run : TrainingRun
        Of a run with ``settings.photos``; its split carries ``sources``.
    """
    sources = list(getattr(run.split, "sources", ()) or ())
    lines = [
        f"# {', '.join(f'`{n}`' for n in run.networks)} on labelled photos: {len(sources)} sources",
        "",
        "Every photo face was cut by the predictor's own code (YuNet's detection, the face turned upright and "
        "framed from its landmarks, and the crop re-framed on the true keypoints, as its later passes cut it), and "
        "its keypoints went through the same transform. The labels of the sources that `--move-labels` named were "
        "moved into the human convention by their measured offsets (`keypoints/data/conventions.py`), the others "
        "taken as drawn; the validation figures below are against the labels the network learnt. The split is by "
        "person across all sources.",
        "",
        f"- split: {run.split.split}",
        f"- preset `{run.preset}`; seeds {', '.join(map(str, run.seeds))}; device: {device_description(run)}; "
        f"the whole run took {run.seconds / 60:.1f} min",
        f"- command: `{run.command()}`",
        "",
        "| source | faces | labels | terms |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{s['name']}` | {s['summary'].split(': ', 1)[-1]} | {s.get('convention', 'as drawn')} | {s['terms']} |"
        for s in sources
    ]
    lines += [
        "",
        "## Validation per source",
        "",
        "On the held-out people of each source, on the crops the predictor cuts (RMSE in pixels of the 96x96 crop; "
        "NME: the mean keypoint error over the distance between the eye centres). `keypoints evaluate-photos FOLDER "
        "--split valid --model MODEL` measures the same people end to end, from the whole photos, detector included.",
        "",
        "| network | seed | best epoch | source | validation faces | RMSE px | NME |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for result in run.results:
        for name, figures in (result.per_source or {}).items():
            lines.append(
                f"| `{result.name}` | {result.seed} | {result.best_epoch} of {result.epochs} | `{name}` | "
                f"{figures['faces']} | {figures['rmse_px']:.3f} | {figures['nme']:.4f} |"
            )
    lines += ["", f"![learning curves]({LEARNING_CURVES})", ""]
    return "\n".join(lines)
