"""The bench table says which way each ratio is better: faster or slower, less or more memory."""

from keypoints.bench.table import BenchRow, format_table, verdict


def test_each_ratio_is_said_in_words_with_a_factor_of_at_least_one():
    assert verdict(BenchRow("t", ours=0.5, baseline=1.5, baseline_name="b")) == "3.00x faster"
    assert verdict(BenchRow("t", ours=3.0, baseline=1.0, baseline_name="b")) == "3.00x slower"
    assert verdict(BenchRow("r", ours=200, baseline=10, baseline_name="b", unit="img/s", higher_is_better=True)) == (
        "20.0x faster"
    )
    assert verdict(BenchRow("r", ours=5, baseline=10, baseline_name="b", unit="img/s", higher_is_better=True)) == (
        "2.00x slower"
    )
    assert verdict(BenchRow("m", ours=10, baseline=54.8, baseline_name="b", unit="MiB")) == "5.48x less memory"
    assert verdict(BenchRow("m", ours=20, baseline=10, baseline_name="b", unit="MiB")) == "2.00x more memory"


def test_the_table_heads_the_column_with_what_it_compares():
    rows = [
        BenchRow("load csv", ours=0.1, baseline=0.3, baseline_name="pandas"),
        BenchRow("peak memory", ours=30, baseline=10, baseline_name="broadcast", unit="MiB"),
    ]
    header, first, second = format_table(rows).splitlines()
    assert header.split()[:4] == ["benchmark", "ours", "vs", "baseline"]
    assert "3.00x faster" in first and "100.0 ms" in first and first.endswith("pandas")
    assert "3.00x more memory" in second and "30 MiB" in second
