"""The report stage: seeds-and-interval statistics, the verdict against its table, figures, the settings' command."""

import re
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from keypoints.data.schema import KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.errors import KeypointsError
from keypoints.report import write_report
from keypoints.report.comparison import comparison_markdown, pair_differences, verdict
from keypoints.report.stats import paired_difference, spread
from keypoints.training.estimator import Recipe
from keypoints.training.presets import recipe_for
from keypoints.training.settings import TrainSettings
from keypoints.training.trainer import NetworkResult, TrainingRun, TrainValidSplit


def test_paired_interval_on_a_known_difference_and_spread():
    conv = np.array([1.7, 2.3, 2.0, 1.8, 2.2])  # the seeds' spread (sd 0.25), shared by both twins
    noise = np.array([-0.02, 0.01, 0.03, -0.01, -0.01])  # mean 0, sample sd 0.02
    local = conv - 0.10 + noise
    d = paired_difference(conv, local)
    assert d.n == 5 and d.mean == pytest.approx(-0.10)
    assert d.std == pytest.approx(np.std(noise, ddof=1))
    half = 2.7764451 * d.std / np.sqrt(5)  # t(0.975, 4 degrees of freedom)
    assert (d.low, d.high) == pytest.approx((-0.10 - half, -0.10 + half))
    assert d.excludes_zero and d.high < 0
    # pairing removes the seeds' spread: the unpaired spread is ten times wider
    assert spread(conv).std > 10 * d.std


def test_paired_interval_that_straddles_zero_and_the_one_seed_case():
    d = paired_difference([1.0, 1.0, 1.0], [1.1, 0.9, 1.0])
    assert d.mean == pytest.approx(0.0, abs=1e-12) and d.low < 0 < d.high and not d.excludes_zero
    one = paired_difference([1.0], [1.2])
    assert one.mean == pytest.approx(0.2) and np.isnan(one.low) and not one.excludes_zero
    with pytest.raises(KeypointsError, match="equal, non-empty"):
        paired_difference([1.0, 2.0], [1.0])


def test_interval_agrees_with_scipy():
    a, b = [2.1, 2.3, 1.9, 2.0], [2.0, 2.1, 1.95, 1.8]
    d = paired_difference(a, b)
    low, high = scipy_stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (d.low, d.high) == pytest.approx((low, high))


def fake_run(centred, jittered, tmp_path=None, seeds=(0, 1, 2)):
    """A TrainingRun with given RMSEs: ``centred[name]`` and ``jittered[name]`` list one value per seed."""
    faces = np.zeros((2, 1, 96, 96), np.uint8)
    split = TrainValidSplit(
        Path("training.csv.gz"), "ab" * 32, KEYPOINT_COLUMNS, faces, np.zeros((2, 30)), faces, np.zeros((2, 30)), "x"
    )
    recipe = Recipe(epochs=4)
    results = []
    for seed_index, seed in enumerate(seeds):
        for name in centred:
            c, j = centred[name][seed_index], jittered[name][seed_index]
            history = [{"epoch": e, "train_rmse": 3.0 / e, "valid_rmse": c + 1 / e, "dur": 1.0} for e in (1, 2, 3, 4)]
            results.append(
                NetworkResult(
                    name=name,
                    description=f"{name} net",
                    params=1000,
                    epochs=4,
                    best_epoch=4,
                    seconds=4.0,
                    best_valid_rmse=c,
                    valid_rmse=c,
                    per_keypoint={k: c for k in KEYPOINTS},
                    ms_per_face=0.5,
                    history=history,
                    train_memory_mb=12.0,
                    recipe=recipe,
                    seed=seed,
                    jittered_rmse=j,
                    jittered_per_keypoint={k: j for k in KEYPOINTS},
                )
            )
    settings = TrainSettings(data="/somewhere/on/a/machine/training.csv.gz", reports_dir=str(tmp_path or "reports"))
    return TrainingRun(
        settings=settings,
        preset="default",
        networks=tuple(centred),
        seeds=tuple(seeds),
        device="cpu",
        data=Path("/somewhere/on/a/machine/training.csv.gz"),
        synthetic=False,
        split=split,
        baseline=(3.5, {k: 3.5 for k in KEYPOINTS}),
        results=results,
    )


def test_verdict_comes_first_and_agrees_with_the_difference_table():
    run = fake_run(
        {"bnconv": [2.00, 2.20, 1.90], "bnlocal": [1.90, 2.11, 1.79]},
        {"bnconv": [2.50, 2.70, 2.40], "bnlocal": [2.61, 2.80, 2.51]},
    )
    text = comparison_markdown(run)
    lines = text.splitlines()
    assert lines[0] == "# `bnconv` vs `bnlocal`: 3 seed(s) on `training.csv.gz`"
    assert lines[2] == f"**{verdict(run)}**"
    centred = pair_differences(run, "bnconv", "bnlocal")["centred faces"]
    assert centred.mean == pytest.approx(-0.1) and centred.excludes_zero
    said = re.search(
        r"On centred faces `bnlocal` is better than `bnconv` by ([\d.]+) px \([\d.]+ %; 95 % interval ([-+.\d]+) to",
        lines[2],
    )
    assert said, lines[2]
    row = next(line for line in lines if line.startswith("| `bnlocal` - `bnconv` | centred faces |"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert float(cells[2]) == -float(said.group(1)) and cells[4].startswith(said.group(2))
    assert "On jittered faces `bnlocal` is worse than `bnconv` by 0.107 px" in lines[2]
    assert "jitter moves the difference by +0.207 px" in lines[2]
    assert "| `bnconv` | 1,000 | **2.033 ± 0.153** | 2.533 ± 0.153 | 4 (4), 4 (4), 4 (4) | 1.0 | 0.500 | 12 |" in text
    assert "| `bnlocal` - `bnconv` | jittered minus centred | +0.207 | +10.2 |" in text
    assert "/somewhere" not in text  # no path of the machine it ran on
    assert "Repeat with: `keypoints train --data training.csv.gz --preset default --seed 0`" in text


def test_write_report_links_only_figures_it_wrote(tmp_path):
    run = fake_run({"bnconv": [2.0, 2.2, 1.9], "bnlocal": [1.9, 2.1, 1.8]}, {"bnconv": [2.4] * 3, "bnlocal": [2.5] * 3})
    path = write_report(run, tmp_path)
    text = path.read_text()
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert links == ["figures/keypoint_difference.png", "figures/learning_curves.png"]
    for link in links:
        assert (tmp_path / link).stat().st_size > 10_000
    assert not list(tmp_path.glob(".*partial"))


def test_settings_are_frozen_and_their_command_holds_every_option_that_changes_the_result():
    settings = TrainSettings(
        data="data/training.csv",
        nets=("bnconv", "bnlocal"),
        epochs=7,
        preset="full",
        device="cpu",
        seed=3,
        seeds=4,
        skip_bad_rows=True,
        mirror_sum=96.5,
        valid_fraction=0.25,
    )
    assert settings.command() == (
        "keypoints train --data data/training.csv --nets bnconv,bnlocal --preset full --seed 3 --seeds 4 "
        "--epochs 7 --device cpu --mirror-sum 96.5 --skip-bad-rows --valid-fraction 0.25"
    )
    assert TrainSettings().command() == "keypoints train --preset default --seed 0"
    assert settings.seed_list() == (3, 4, 5, 6)
    assert TrainSettings().networks() == ("bnconv", "bnlocal") and len(TrainSettings().seed_list()) == 3
    assert len(TrainSettings(preset="full").networks()) == 5 and len(TrainSettings(preset="full").seed_list()) == 5
    with pytest.raises(FrozenInstanceError):
        settings.preset = "synthetic"


def test_recipe_for_refuses_an_unknown_network_and_keeps_the_twins_on_one_recipe():
    with pytest.raises(KeypointsError, match="no training recipe for network 'resnet' in preset 'default'"):
        recipe_for("resnet")
    for preset in ("default", "synthetic", "conclusive", "full"):
        assert recipe_for("bnconv", preset) == recipe_for("bnlocal", preset)
    assert recipe_for("bnconv", epochs=3).epochs == 3 and recipe_for("bnconv").epochs != 3
