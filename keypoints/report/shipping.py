"""The report's answer to "which twin does the predictor ship, and why": accuracy on faces and photos, and cost.

The shipped model's own figures come from its card (stored in ``keypoints/assets/default.pt``) and, for photos,
from the rows of ``keypoints/assets/MODEL_CARD.md`` that measure it there, quoted as they stand.
"""

import numpy as np

from keypoints import paths
from keypoints.report.differences import describe
from keypoints.report.stats import BETTER, WORSE

PHOTO_ROWS = ("on photos of people it never saw", "on the 24 labelled photo frames")
"""The rows of MODEL_CARD.md that give the shipped model's accuracy on photos."""


def shipped_card():
    """The card stored in the shipped model, or None when it cannot be read."""
    from keypoints.errors import KeypointsError
    from keypoints.model.checkpoint import load_model

    try:
        return load_model(paths.DEFAULT_MODEL).card
    except (KeypointsError, OSError):
        return None


def photo_rows(card_text):
    """``{row title: its text}`` of :data:`PHOTO_ROWS` in a MODEL_CARD.md's table."""
    rows = {}
    for line in card_text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] in PHOTO_ROWS:
            rows[cells[0]] = cells[1]
    return rows


def _mean(results, value):
    return float(np.mean([value(r) for r in results]))


def cost_words(run, a, b):
    """Parameters, float32 weights, inference time and training memory of both twins, as measured in ``run``."""
    first, second = run.results_of(a), run.results_of(b)
    params = first[0].params, second[0].params
    speed = _mean(first, lambda r: r.ms_per_face), _mean(second, lambda r: r.ms_per_face)
    return (
        f"`{a}` has {params[0]:,} parameters ({4 * params[0] / 1e6:.1f} MB of float32 weights), `{b}` {params[1]:,} "
        f"({4 * params[1] / 1e6:.1f} MB, {params[1] / params[0]:.1f} times as many); inference takes "
        f"{speed[0]:.3f} and {speed[1]:.3f} ms per face here ({speed[1] / speed[0]:.2f} times), training memory "
        f"{first[0].train_memory_mb:.0f} and {second[0].train_memory_mb:.0f} MB at the recipe's batch"
    )


def shipping_section(run, a, b, difference, base, card=None, card_text=None, photo_twins=None, photo_recipe=None):
    """The section's lines.

    Parameters
    ----------
    run : TrainingRun
    a, b : str
        The twins, shared weights first.
    difference : PairedDifference
        ``b - a`` on centred faces.
    base : float
        ``a``'s mean RMSE, the base of the per cent.
    card : dict, optional
        The shipped model's card (default: read from the shipped model).
    card_text : str, optional
        MODEL_CARD.md's text (default: read from the package).
    photo_twins : TrainingRun, optional
        A run that trained both twins on labelled photos (:func:`twins_on_photos`).
    photo_recipe : tuple of TrainingRun, optional
        The runs that trained each twin with the photo recipe (:func:`photo_recipe_twins`).
    """
    card = shipped_card() if card is None else card
    if card_text is None:
        card_text = paths.MODEL_CARD.read_text(encoding="utf-8") if paths.MODEL_CARD.is_file() else ""
    lines = ["## Which network ships, and why", ""]
    if not card:
        return lines + ["The shipped model (`keypoints/assets/default.pt`) could not be read, so this is left open."]
    shipped = card.get("network")
    lines.append(
        f"The predictor ships `{shipped}` (`keypoints/assets/default.pt`, described in "
        f"`keypoints/assets/MODEL_CARD.md`): trained with `{card.get('command')}`, best at epoch "
        f"{card.get('best_epoch')} of {card.get('epochs')}, validation RMSE {card.get('best_valid_rmse_px')} px on "
        f"people it never saw (jittered faces {card.get('jittered_valid_rmse_px')} px)."
    )
    lines.append("")
    rows = photo_rows(card_text)
    photos = "; ".join(f"{title}: {text}" for title, text in rows.items()) or "not in its card"
    twin_rows = photo_differences(photo_twins, a, b) if photo_twins is not None else None
    recipe_rows = photo_differences(*photo_recipe[:1], a, b, other=photo_recipe[1]) if photo_recipe else None
    if recipe_rows:
        side_by_side = (
            f"Trained with the shipped model's photo recipe too (`{photo_recipe[1].command()}`, the same split, "
            f"{len(photo_recipe[1].seeds)} seed(s); record in `reports/{PHOTO_RECIPE}/runs/`), `{b}` - `{a}` NME is "
            + ", ".join(f"{100 * (row[2] / row[1] - 1):+.1f} % on {source}" for source, row in recipe_rows.items())
            + "."
        )
    elif twin_rows is None:
        side_by_side = (
            "The other twin has never been trained with the photo recipe (jitter, changes of look, L1) nor measured "
            "on photos."
        )
    else:
        side_by_side = (
            "Trained side by side on the labelled photos with the twins' short recipe (below), "
            f"`{b}` - `{a}` NME is "
            + ", ".join(f"{row[2] - row[1]:+.4f} on {source}" for source, row in twin_rows.items())
            + "; the other twin has not been trained with the photo recipe (jitter, changes of look, L1)."
        )
    lines += [
        f"- **Faces**: in this run, on centred faces {describe(difference, a, b, base)}.",
        f"- **Photos**: the shipped `{shipped}`, {photos}. {side_by_side}",
        f"- **Cost**: {cost_words(run, a, b)}.",
        "",
    ]
    if shipped != a:
        return lines + [f"The shipped network is not `{a}`, so this run does not bear on the choice.", ""]
    if difference.verdict == BETTER and recipe_rows:
        changes = [100 * (row[2] / row[1] - 1) for row in recipe_rows.values()]
        why = (
            f"`{a}` ships although `{b}` is the better twin on centred faces: trained with the photo recipe as the "
            f"shipped model was, `{b}` has the lower NME on {len(lower_for_second(recipe_rows))} of "
            f"{len(recipe_rows)} sources, from {min(changes):+.1f} % to {max(changes):+.1f} %, so its advantage does "
            "not carry over to photos, and it costs the parameters and time above."
        )
    elif difference.verdict == BETTER:
        why = (
            f"`{a}` ships although `{b}` is the better twin on centred faces: that advantage is measured with this "
            "preset's recipe on centred faces, while photos need the photo recipe, with which only "
            f"`{a}` has been trained and measured; and `{b}` costs the parameters and time above. Shipping `{b}` "
            "waits for it trained with the photo recipe and measured on photos."
        )
    elif difference.verdict == WORSE:
        why = f"`{a}` ships: it is the better twin here, the cheaper one, and the one measured on photos."
    else:
        why = (
            f"`{a}` ships: no difference between the twins is shown at this precision, `{a}` is the cheaper one, "
            "and the one trained and measured on photos."
        )
    if twin_rows is not None:
        why += (
            f" Side by side on photos with the short recipe, `{b}` has the lower NME on "
            f"{len(lower_for_second(twin_rows))} of {len(twin_rows)} sources ({len(photo_twins.seeds)} seed(s); below)."
        )
    return lines + [why, ""]


TWINS_ON_PHOTOS = "twins-on-photos"
"""The reports folder, inside the conclusive report's, of the twins trained side by side on labelled photos:
``keypoints train --data training.csv.gz --photos frames fgnet helen --nets bnconv,bnlocal --models-dir
models/twins-on-photos --reports-dir reports/twins-on-photos``. Its own folder, so its ``photos.md`` never replaces
the shipped model's training report."""


PHOTO_RECIPE = "bnlocal-photos"
"""The reports folder, inside the conclusive report's, of the second twin trained with the shipped model's photo
recipe on the same split: ``keypoints train --data training.csv.gz --photos frames fgnet helen --nets bnlocal
--preset full --epochs 160 --seed 0 --seeds 1 --models-dir models/bnlocal-photos --reports-dir
reports/bnlocal-photos``; the shipped model's own run is in ``reports/runs/``."""


def photo_recipe_twins(shipped_records, twin_records, a="bnconv", b="bnlocal"):
    """``(run of a, run of b)``: the latest finished runs that trained ``a`` (among ``shipped_records``) and ``b``
    (among ``twin_records``) on labelled photos with the same preset, the same held-out faces and the same labels
    (the same sources moved into the human convention), or None."""
    mine = [r for r in shipped_records if r.finished and r.settings.photos and r.results_of(a)]
    theirs = [r for r in twin_records if r.finished and r.settings.photos and r.results_of(b)]
    if not mine or not theirs:
        return None
    run_a, run_b = mine[-1], theirs[-1]

    def held_out(run, name):
        return {s: v["faces"] for s, v in (run.results_of(name)[0].per_source or {}).items()}

    same = run_a.preset == run_b.preset and held_out(run_a, a) == held_out(run_b, b)
    same = same and tuple(run_a.settings.move_labels or ()) == tuple(run_b.settings.move_labels or ())
    return (run_a, run_b) if same else None


def twins_on_photos(records, a="bnconv", b="bnlocal"):
    """The latest finished run among ``records`` that trained both twins on labelled photos, or None."""
    runs = [r for r in records if r.finished and r.settings.photos and r.results_of(a) and r.results_of(b)]
    return runs[-1] if runs else None


def photo_differences(run, a="bnconv", b="bnlocal", other=None):
    """``{source: (faces, nme of a, nme of b, rmse of a, rmse of b)}``: each twin's mean over its seeds, held-out
    people of every source of ``run`` (``b``'s from ``other`` when given: a run of its own on the same split)."""
    rows = {}
    other = run if other is None else other
    for source in run.results_of(a)[0].per_source or {}:
        mine = [r.per_source[source] for r in run.results_of(a) if r.per_source and source in r.per_source]
        theirs = [r.per_source[source] for r in other.results_of(b) if r.per_source and source in r.per_source]
        if mine and theirs:
            rows[source] = (
                mine[0]["faces"],
                float(np.mean([m["nme"] for m in mine])),
                float(np.mean([t["nme"] for t in theirs])),
                float(np.mean([m["rmse_px"] for m in mine])),
                float(np.mean([t["rmse_px"] for t in theirs])),
            )
    return rows


def lower_for_second(rows):
    """The sources of :func:`photo_differences` rows where the second twin has the lower NME."""
    return [source for source, row in rows.items() if row[2] < row[1]]


def photos_section(run=None, a="bnconv", b="bnlocal"):
    """The twins on photos: NME and RMSE per source of a run that trained both on labelled photos (``run``, see
    :data:`TWINS_ON_PHOTOS`), or that none is recorded."""
    lines = ["## The twins on photos", ""]
    if run is None:
        return lines + [
            "Not yet measured: no run that trained both twins on labelled photos is recorded in "
            f"`reports/{TWINS_ON_PHOTOS}/runs/`. `keypoints train --data training.csv.gz --photos frames fgnet helen "
            f"--nets {a},{b} --models-dir models/{TWINS_ON_PHOTOS} --reports-dir reports/{TWINS_ON_PHOTOS}` "
            "measures it.",
            "",
        ]
    seeds = len(run.seeds)
    recipe = run.results_of(a)[0].recipe
    lines += [
        f"Both twins trained on the training file and the labelled photo folders together (`{run.command()}`, "
        f"{recipe.epochs} epochs at most, {run.results_of(a)[0].n_train} training faces, {seeds} seed(s) on one split "
        f"by person across all sources), scored on the people held out of every source (record in "
        f"`reports/{TWINS_ON_PHOTOS}/runs/`). NME is the mean keypoint error over the distance between the eye "
        "centres, in the Kaggle convention; RMSE in the network's 96 x 96 px face crops.",
        "",
        f"| source | held-out faces | `{a}` NME | `{b}` NME | `{b}` - `{a}` | `{a}` RMSE (px) | `{b}` RMSE (px) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows = photo_differences(run, a, b)
    for source, (faces, nme_a, nme_b, rmse_a, rmse_b) in rows.items():
        change = f"{nme_b - nme_a:+.4f} ({100 * (nme_b / nme_a - 1):+.1f} %)"
        lines.append(f"| {source} | {faces} | {nme_a:.4f} | {nme_b:.4f} | {change} | {rmse_a:.3f} | {rmse_b:.3f} |")
    better = lower_for_second(rows)
    lines += [
        "",
        f"`{b}` has the lower NME on {len(better)} of the {len(rows)} sources"
        + (f" ({', '.join(better)})" if better else "")
        + (
            "; one seed gives no interval, so these are single draws, not a verdict."
            if seeds == 1
            else f", means over {seeds} seeds on one split."
        ),
        "",
    ]
    return lines
