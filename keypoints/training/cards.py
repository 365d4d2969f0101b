"""Model cards: what a model file of ``keypoints train`` says of its data, split, command, recipe and figures."""

from dataclasses import asdict, replace

DATA_TERMS = {
    True: "synthetic faces drawn by `keypoints synth`: no restriction",
    False: "the terms of the data's source (for the Kaggle file, the competition's rules: use, not redistribution)",
}
"""What the model card says about the training data's terms, by whether it was synthetic."""


def run_card(run, valid_fraction):
    """What every model file of a run says of its data, split and command.

    The split is the first seed's, the one of the saved models: with the card's seed and ``valid_fraction``,
    ``evaluate --split valid`` re-makes it.
    """
    return {
        "data": str(run.data),
        "data_sha256": run.split.sha256,
        "synthetic_data": run.synthetic,
        "data_terms": DATA_TERMS[run.synthetic],
        "split": run.split.split,
        "valid_fraction": valid_fraction,
        "mean_baseline_rmse_px": round(run.baseline[0], 4),
        "device": run.device,
        "command": replace(run.settings, preset=run.preset).command(),
    } | _sources_card(run.split)


def _sources_card(split):
    """A run on several sources: each source with its terms, and the people held out (for ``evaluate-photos
    --split valid``)."""
    if not split.sources:
        return {}
    moved = [s["name"] for s in split.sources if s.get("convention", "as drawn") != "as drawn"]
    convention = "keypoints as each source's labels are drawn"
    if moved:
        convention = "human (iBUG-68, eye centre: the centre of the eye's outline); moved by their measured offsets: "
        convention += ", ".join(moved)
        kept = [s["name"] for s in split.sources if s["name"] not in moved]
        convention += f"; as drawn: {', '.join(kept)}" if kept else ""
    return {
        "sources": list(split.sources),
        "label_convention": convention,
        "valid_identities": list(split.valid_identities),
    }


def model_card(name, recipe, seed, mirror_sum, shared, result=None):
    """The card stored in a model file: what it was trained on, how, and (when finished) how well.

    ``shared`` is :func:`run_card`'s. Without ``result`` (an interrupted training)
    :func:`keypoints.training.interrupts.keep_best_so_far` adds how far it got.
    """
    card = {"network": name, **shared}
    if result is not None:
        card |= {
            "epochs": result.epochs,
            "best_epoch": result.best_epoch,
            "best_valid_rmse_px": round(result.best_valid_rmse, 4),
            "jittered_valid_rmse_px": None if result.jittered_rmse is None else round(result.jittered_rmse, 4),
        }
        if result.per_source:
            card["valid_per_source"] = result.per_source
    card |= {"recipe": asdict(recipe)}
    if result is not None:
        card["training_seconds"] = round(result.seconds, 1)
    return card | {"seed": seed, "flip_mirror_sum_px": mirror_sum}
