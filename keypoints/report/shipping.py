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
    from keypoints.checkpoint import load_model
    from keypoints.errors import KeypointsError

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


def shipping_section(run, a, b, difference, base, card=None, card_text=None):
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
    lines += [
        f"- **Faces**: in this run, on centred faces {describe(difference, a, b, base)}.",
        f"- **Photos**: the shipped `{shipped}`, {photos}. The other twin has never been trained with the photo "
        "recipe (jitter, changes of look, L1) nor measured on photos.",
        f"- **Cost**: {cost_words(run, a, b)}.",
        "",
    ]
    if shipped != a:
        return lines + [f"The shipped network is not `{a}`, so this run does not bear on the choice.", ""]
    if difference.verdict == BETTER:
        why = (
            f"`{a}` ships although `{b}` is the better twin on centred faces: that advantage is measured with this "
            "preset's recipe on centred faces, while photos need the photo recipe, with which only "
            f"`{a}` has been trained and measured; and `{b}` costs the parameters and time above. Shipping `{b}` "
            "waits for the twins measured on photos."
        )
    elif difference.verdict == WORSE:
        why = f"`{a}` ships: it is the better twin here, the cheaper one, and the one measured on photos."
    else:
        why = (
            f"`{a}` ships: no difference between the twins is shown at this precision, `{a}` is the cheaper one, "
            "and the one trained and measured on photos."
        )
    return lines + [why, ""]


def photos_section():
    """The twins on photos: the photo path exists, but only the shipped twin has been trained on it."""
    return [
        "## The twins on photos",
        "",
        "Not yet measured: the twins are compared on the validation faces of the training file only. Training on "
        "labelled photos exists (`keypoints train --photos`, `reports/photos.md`) and the shipped `bnconv` was "
        "trained that way, but `bnlocal` has not been, so there is no NME per labelled photo folder for the pair "
        "(`keypoints train --photos ... --nets bnconv,bnlocal` measures it).",
        "",
    ]
