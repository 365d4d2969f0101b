"""The conclusive comparison: the corrected resampled t-test, the three verdicts, the detectable difference, the
run records and the report's sections (the headline run, its reruns and the short run side by side)."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from keypoints.report import rewrite_reports, write_report
from keypoints.report.comparison import comparison_markdown
from keypoints.report.differences import pair_differences, verdict
from keypoints.report.records import read_record, read_records, record_path, write_record
from keypoints.report.reproducibility import bitwise_words, same_bits
from keypoints.report.shipping import photo_rows, shipping_section
from keypoints.report.stats import (
    BETTER,
    NO_DIFFERENCE,
    WORSE,
    corrected_paired_difference,
    minimum_detectable,
    paired_difference,
)
from keypoints.training.presets import recipe_for
from tests.test_report import fake_run

T_975_4 = 2.7764451  # Student's t, 0.975 quantile, 4 degrees of freedom (tables)
T_80_4 = 0.9409646  # 0.8 quantile, 4 degrees of freedom


def test_corrected_resampled_t_test_against_hand_computed_values():
    a = [2.00, 2.10, 1.95, 2.05, 2.00]
    d = np.array([-0.10, -0.12, -0.08, -0.11, -0.09])  # mean -0.10, sample variance 0.00025
    result = corrected_paired_difference(a, list(np.array(a) + d), n_train=2665, n_valid=713)
    assert result.n == 5 and result.mean == pytest.approx(-0.10)
    assert result.std == pytest.approx(math.sqrt(0.00025))
    assert result.correction == pytest.approx(713 / 2665)
    error = math.sqrt(0.00025 * (1 / 5 + 713 / 2665))  # 0.0108114
    assert error == pytest.approx(0.0108114, rel=1e-5)
    assert (result.low, result.high) == pytest.approx((-0.10 - T_975_4 * error, -0.10 + T_975_4 * error))
    assert (result.low, result.high) == pytest.approx((-0.130017, -0.069983), abs=2e-6)
    assert result.half_width == pytest.approx(T_975_4 * error)
    assert result.detectable == pytest.approx((T_975_4 + T_80_4) * error)
    assert result.detectable == pytest.approx(0.040190, abs=2e-6)
    # the plain interval of the same differences is narrower by sqrt((1/5 + 713/2665) / (1/5))
    plain = paired_difference(a, list(np.array(a) + d))
    assert plain.correction is None
    assert result.half_width / plain.half_width == pytest.approx(math.sqrt((0.2 + 713 / 2665) / 0.2))


def test_the_three_verdicts():
    base = [2.0, 2.1, 1.9, 2.0, 2.05]
    better = corrected_paired_difference(base, [x - 0.1 for x in base[:4]] + [base[4] - 0.12], 2665, 713)
    worse = corrected_paired_difference(base, [x + 0.1 for x in base[:4]] + [base[4] + 0.12], 2665, 713)
    none = corrected_paired_difference(base, [2.1, 2.0, 1.95, 1.9, 2.1], 2665, 713)
    assert better.verdict == BETTER and better.high < 0
    assert worse.verdict == WORSE and worse.low > 0
    assert none.verdict == NO_DIFFERENCE == "no difference shown at this precision" and none.low < 0 < none.high
    one = corrected_paired_difference([2.0], [1.9], 2665, 713)
    assert one.verdict == NO_DIFFERENCE and math.isnan(one.detectable)


def test_minimum_detectable_difference_is_shown_four_times_in_five():
    assert minimum_detectable(0.01, 4) == pytest.approx((T_975_4 + T_80_4) * 0.01)
    # simulated: a true difference of that size, with that spread, is shown in about 80 % of designs
    rng = np.random.default_rng(0)
    n, correction, sd = 5, 713 / 2665, 0.05
    error = sd * math.sqrt(1 / n + correction)
    true = minimum_detectable(error, n - 1)
    # draws whose mean has the corrected variance: the correlation of overlapping splits, made explicit
    shown = 0
    trials = 4000
    for _ in range(trials):
        shared = rng.normal(0, sd * math.sqrt(correction))
        d = true + shared + rng.normal(0, sd, n)
        s = d.std(ddof=1)
        shown += abs(d.mean()) > T_975_4 * s * math.sqrt(1 / n + correction)
    assert 0.6 < shown / trials < 0.85  # about 80 %; the t approximation's power is a little over-stated


def test_split_sizes_must_be_positive():
    with pytest.raises(ValueError, match="positive split sizes"):
        corrected_paired_difference([1.0, 2.0], [1.0, 2.0], 0, 10)


def conclusive_run(tmp_path, centred=None, started="2026-12-03T09:00:00+00:00", threads=1, seeds=(0, 1, 2, 3, 4)):
    """A finished conclusive run of fake results, every seed on its own split."""
    centred = centred or {"bnconv": [2.00, 2.20, 1.90, 2.10, 2.05], "bnlocal": [1.90, 2.11, 1.79, 2.00, 1.94]}
    jittered = {name: [v + 0.3 for v in values] for name, values in centred.items()}
    run = fake_run(centred, jittered, tmp_path, seeds=seeds)
    for result in run.results:
        result.n_train, result.n_valid = 2665, 713
    return replace(
        run,
        preset="conclusive",
        split_per_seed=True,
        started=started,
        threads=threads,
        finished=True,
        splits={s: {"split": f"seed {s}", "n_train": 2665, "n_valid": 713, "baseline_rmse": 3.77} for s in seeds},
        versions={"python": "3.11", "torch": "2.13.0", "machine": "x86_64"},
        settings=replace(run.settings, preset="conclusive"),
    )


def test_conclusive_verdict_uses_the_corrected_test_and_gives_px_per_cent_and_precision(tmp_path):
    run = conclusive_run(tmp_path)
    centred = pair_differences(run, "bnconv", "bnlocal")["centred faces"]
    assert centred.correction == pytest.approx(713 / 2665) and centred.verdict == BETTER
    text = verdict(run)
    base = np.mean([2.00, 2.20, 1.90, 2.10, 2.05])
    assert text.startswith(
        f"On centred faces `bnlocal` is better than `bnconv` by 0.102 px ({100 * 0.102 / base:.1f} %; 95 % interval "
        f"{centred.low:+.3f} to {centred.high:+.3f} px"
    ), text
    assert f"the smallest true difference this design shows 80 % of the time is {centred.detectable:.3f} px" in text
    markdown = comparison_markdown(run)
    assert markdown.splitlines()[0] == "# `bnconv` vs `bnlocal`: 5 seed(s), each on its own split, on `training.csv.gz`"
    assert "corrected resampled t-test (Nadeau and Bengio)" in markdown and "(1/5 + 713/2665) s²" in markdown


def test_no_difference_verdict_says_what_the_design_could_have_shown(tmp_path):
    run = conclusive_run(
        tmp_path, {"bnconv": [2.00, 2.20, 1.90, 2.10, 2.05], "bnlocal": [2.05, 2.15, 1.93, 2.04, 2.06]}
    )
    text = verdict(run)
    assert text.startswith("On centred faces no difference shown at this precision between `bnlocal` and `bnconv`")
    assert "the smallest true difference this design shows 80 % of the time is" in text


def test_record_round_trip_gives_the_same_report(tmp_path):
    run = conclusive_run(tmp_path)
    path = write_record(run, tmp_path)
    assert path == record_path(run, tmp_path) == tmp_path / "runs" / "conclusive-20261203T090000-cpu1.json"
    record = json.loads(path.read_text())
    assert record["settings"]["data"] == "training.csv.gz" and "/somewhere" not in path.read_text()
    again = read_record(path)
    assert comparison_markdown(again) == comparison_markdown(run)
    assert again.results[0].recipe == run.results[0].recipe and again.splits == run.splits


def test_a_broken_record_is_named_in_the_error(tmp_path):
    from keypoints.errors import DataError

    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "x.json").write_text('{"format": 99}')
    with pytest.raises(DataError, match=r"x\.json: not a run record of format 1"):
        read_records(tmp_path)


def test_a_rerun_never_takes_the_headline_and_is_shown_seed_by_seed(tmp_path):
    first = conclusive_run(tmp_path)
    write_report(first, tmp_path)
    second = conclusive_run(tmp_path, started="2026-12-03T10:00:00+00:00", threads=2)
    second.results[0].valid_rmse += 0.0004  # another thread count: not the same bits
    text = write_report(second, tmp_path).read_text()
    assert (tmp_path / "conclusive.md").read_text() == text and not (tmp_path / "comparison.md").exists()
    assert "The headline run, `conclusive` (CPU, 1 thread, 2026-12-03)" in text
    assert (
        "### `conclusive` (CPU, 1 thread, 2026-12-03) and `conclusive` (CPU, 2 threads, 2026-12-03), seed by seed"
        in text
    )
    assert "repeats 9 of 10 results of `conclusive` (CPU, 1 thread, 2026-12-03) bit for bit" in text
    assert "the largest difference of a result's validation RMSE is 0.0004 px" in text
    assert "- `conclusive` (CPU, 2 threads, 2026-12-03): the same verdict as the headline run: better." in text
    assert "Repeat with: `OMP_NUM_THREADS=1 keypoints train --data training.csv.gz --preset conclusive" in text
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "conclusive-20261203T090000-cpu1.json",
        "conclusive-20261203T100000-cpu2.json",
    ]


def of_todays_recipe(run):
    """``run`` with every result trained on the conclusive preset's recipe as the code has it now."""
    for result in run.results:
        result.recipe = recipe_for(result.name, "conclusive")
    return run


def test_the_headline_is_the_first_run_of_the_presets_recipe_and_other_recipes_are_left_out(tmp_path):
    earlier = conclusive_run(tmp_path)  # Recipe(epochs=4): not the preset's recipe of today
    write_report(earlier, tmp_path)
    today = of_todays_recipe(conclusive_run(tmp_path, started="2026-12-03T11:00:00+00:00", threads=2))
    text = write_report(today, tmp_path).read_text()
    assert "This run: Python 3.11, torch 2.13.0, x86_64, 2 torch thread(s)." in text
    assert "No rerun of this preset is recorded in `reports/runs/` yet" in text
    assert (
        "Left out: 1 recorded run(s) of this preset with another recipe (`conclusive-20261203T090000-cpu1.json` "
        "in `reports/runs/`)" in text
    )
    assert "seed by seed" not in text  # the run of the other recipe is not compared with the headline
    later = of_todays_recipe(conclusive_run(tmp_path, started="2026-12-03T12:00:00+00:00", threads=1))
    text = write_report(later, tmp_path).read_text()
    assert "The headline run, `conclusive` (CPU, 2 threads, 2026-12-03)" in text
    assert "### `conclusive` (CPU, 2 threads, 2026-12-03) and `conclusive` (CPU, 1 thread, 2026-12-03)" in text
    assert [p.name for p in rewrite_reports(tmp_path)] == ["conclusive.md"]
    assert (tmp_path / "conclusive.md").read_text() == text


def test_the_twins_on_photos_are_quoted_from_their_own_reports_folder(tmp_path):
    assert "## The twins on photos\n\nNot yet measured" in write_report(conclusive_run(tmp_path), tmp_path).read_text()
    photos = conclusive_run(tmp_path, centred={"bnconv": [1.5], "bnlocal": [1.4]}, seeds=(0,))
    nme = {"bnconv": {"frames": 0.0520, "fgnet": 0.0440}, "bnlocal": {"frames": 0.0500, "fgnet": 0.0460}}
    for result in photos.results:
        result.per_source = {
            source: {"faces": 364 if source == "fgnet" else 1358, "rmse_px": 100 * value / 3, "nme": value}
            for source, value in nme[result.name].items()
        }
    photos = replace(
        photos, preset="default", split_per_seed=False, settings=replace(photos.settings, photos=("frames", "fgnet"))
    )
    write_record(photos, tmp_path / "twins-on-photos")
    text = write_report(conclusive_run(tmp_path), tmp_path).read_text()
    assert "| frames | 1358 | 0.0520 | 0.0500 | -0.0020 (-3.8 %) | 1.733 | 1.667 |" in text
    assert "| fgnet | 364 | 0.0440 | 0.0460 | +0.0020 (+4.5 %) | 1.467 | 1.533 |" in text
    assert "`bnlocal` has the lower NME on 1 of the 2 sources (frames); one seed gives no interval" in text
    assert "`bnlocal` - `bnconv` NME is -0.0020 on frames, +0.0020 on fgnet" in text
    assert "Side by side on photos with the short recipe, `bnlocal` has the lower NME on 1 of 2 sources" in text
    assert "Not yet measured" not in text and not (tmp_path / "photos.md").exists()


def test_bit_for_bit_is_read_off_every_epoch(tmp_path):
    run = conclusive_run(tmp_path)
    copy = read_record(write_record(run, tmp_path))
    assert all(same_bits(a, b) for a, b in zip(run.results, copy.results))
    copy.results[3].history[1]["valid_rmse"] += 1e-12
    assert not same_bits(run.results[3], copy.results[3])
    assert "repeats 9 of 10 results" in bitwise_words(run, copy)


def test_the_short_run_says_so_and_whether_it_agrees_with_the_conclusive_run(tmp_path):
    write_report(conclusive_run(tmp_path), tmp_path)
    short = fake_run(
        {"bnconv": [2.00, 2.20, 1.90], "bnlocal": [2.05, 2.15, 1.93]},
        {"bnconv": [2.4] * 3, "bnlocal": [2.4] * 3},
        tmp_path,
    )
    short = replace(short, started="2026-12-03T11:00:00+00:00", threads=2, finished=True)
    text = write_report(short, tmp_path).read_text()
    lines = text.splitlines()
    assert lines[4].startswith(
        "This is the short run (preset `default`: 3 seeds on one split, a fixed number of epochs)"
    )
    assert "This run's verdict (no difference shown at this precision) does NOT agree with the conclusive run's" in text
    # the conclusive report now shows the short run beside its headline, which stays the conclusive run
    rewritten = rewrite_reports(tmp_path)
    assert [p.name for p in rewritten] == ["conclusive.md", "comparison.md"]
    conclusive = (tmp_path / "conclusive.md").read_text()
    assert conclusive.startswith("# `bnconv` vs `bnlocal`: 5 seed(s), each on its own split")
    assert "| `default` (CPU, 2 threads, 2026-12-03) | 3 (one split) |" in conclusive
    assert (
        "- `default` (CPU, 2 threads, 2026-12-03): another verdict than the headline run: no difference shown at this "
        "precision, where the headline run says better." in conclusive
    )


def test_report_sections_of_the_conclusive_run(tmp_path):
    text = write_report(conclusive_run(tmp_path), tmp_path).read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:7] == [
        "## Accuracy and cost",
        "## Paired differences",
        "## Seed by seed",
        "## Which network ships, and why",
        "## The twins on photos",
        "## Reproducibility",
        "## Per keypoint: `bnlocal` against `bnconv`",
    ]
    assert "| 2 | seed 2: 2665 / 713 | 1.900 (4 of 4) | 1.790 (4 of 4) | -0.110 |" in text
    assert "Not yet measured: no run that trained both twins on labelled photos is recorded" in text
    assert "`bnconv` 0 of 5 (at most 4 epochs; runs of 4 epochs, best epoch median 4)" in text
    assert "No rerun of this preset is recorded" in text
    assert "![learning curves](figures/conclusive_learning_curves.png)" in text
    assert (tmp_path / "figures" / "conclusive_learning_curves.png").stat().st_size > 10_000


def test_which_network_ships_quotes_the_shipped_card(tmp_path):
    run = conclusive_run(tmp_path)
    card = {"network": "bnconv", "command": "keypoints train --preset full", "best_epoch": 534, "epochs": 594,
            "best_valid_rmse_px": 1.4414, "jittered_valid_rmse_px": 1.4904}  # fmt: skip
    card_text = (
        "| on photos of people it never saw | NME **0.0539** |\n| on the 24 labelled photo frames | NME 0.0399 |"
    )
    assert photo_rows(card_text) == {
        "on photos of people it never saw": "NME **0.0539**",
        "on the 24 labelled photo frames": "NME 0.0399",
    }
    difference = pair_differences(run, "bnconv", "bnlocal")["centred faces"]
    text = "\n".join(shipping_section(run, "bnconv", "bnlocal", difference, 2.05, card=card, card_text=card_text))
    assert "The predictor ships `bnconv`" in text and "validation RMSE 1.4414 px" in text
    assert "on photos of people it never saw: NME **0.0539**" in text
    assert "`bnlocal` 1,000 (0.0 MB, 1.0 times as many)" in text
    assert "`bnconv` ships although `bnlocal` is the better twin on centred faces" in text


def test_report_only_without_records_says_what_to_do(tmp_path, capsys):
    from keypoints.cli import main

    assert main(["train", "--report-only", "--reports-dir", str(tmp_path)]) == 1
    assert f"no finished run is recorded in {tmp_path / 'runs'}; train first" in capsys.readouterr().err


def test_the_second_twin_trained_with_the_photo_recipe_is_weighed_in_the_shipping_section(tmp_path):
    def photo_run(name, nme):
        run = conclusive_run(tmp_path, centred={name: [1.5]}, seeds=(0,))
        for result in run.results:
            result.per_source = {
                source: {"faces": 364 if source == "fgnet" else 1358, "rmse_px": 30 * value, "nme": value}
                for source, value in nme.items()
            }
        settings = replace(run.settings, photos=("frames", "fgnet"))
        return replace(run, preset="full", split_per_seed=False, settings=settings)

    write_record(photo_run("bnconv", {"frames": 0.0500, "fgnet": 0.0440}), tmp_path)
    write_record(photo_run("bnlocal", {"frames": 0.0510, "fgnet": 0.0429}), tmp_path / "bnlocal-photos")
    text = write_report(conclusive_run(tmp_path), tmp_path).read_text()
    assert "`bnlocal` - `bnconv` NME is +2.0 % on frames, -2.5 % on fgnet." in text
    assert (
        "trained with the photo recipe as the shipped model was, `bnlocal` has the lower NME on 1 of 2 sources, "
        "from -2.5 % to +2.0 %, so its advantage does not carry over to photos" in text
    )
    assert "waits for it trained with the photo recipe" not in text
    # another split (other held-out faces) is not compared
    write_record(photo_run("bnlocal", {"frames": 0.0510}), tmp_path / "bnlocal-photos")
    text = write_report(conclusive_run(tmp_path), tmp_path).read_text()
    assert "waits for it trained with the photo recipe" in text
