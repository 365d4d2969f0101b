"""One row of the bench table, and the table as text."""

from dataclasses import dataclass, field


@dataclass
class BenchRow:
    """One line of the table: ``ours`` against ``baseline``, in seconds (or whatever ``unit`` says)."""

    name: str
    ours: float
    baseline: float
    baseline_name: str
    unit: str = "s"
    higher_is_better: bool = False
    section: str = ""
    details: dict = field(default_factory=dict)
    """Anything else measured alongside (peak memory, settings, the target and whether it is met)."""

    @property
    def ratio(self):
        """How many times better ours is than the baseline (above 1 is better)."""
        if self.higher_is_better:
            return self.ours / self.baseline
        return self.baseline / self.ours


MEMORY_UNITS = ("B", "KiB", "MiB", "GiB")
"""Units of rows that measure memory: their ratio reads "less memory" rather than "faster"."""


def verdict(row):
    """The ratio as words that say which way is better: ``"3.02x faster"``, ``"2.50x slower"``, ``"5.48x less
    memory"``; the factor is always at least 1."""
    ratio = row.ratio
    better = ratio >= 1
    factor = ratio if better else 1 / ratio
    if row.unit in MEMORY_UNITS:
        word = "less memory" if better else "more memory"
    else:
        word = "faster" if better else "slower"
    number = f"{factor:.1f}x" if factor >= 10 else f"{factor:.2f}x"
    return f"{number} {word}"


def format_table(rows):
    """The rows as an aligned text table, ours against the baseline first (in words that say which way is better)."""
    width = max(len(r.name) for r in rows)
    verdicts = [verdict(r) for r in rows]
    column = max(len("ours vs baseline"), *map(len, verdicts))
    lines = [f"{'benchmark':{width}}  {'ours vs baseline':>{column}}  {'ours':>12}  {'baseline':>12}  baseline is"]
    for r, said in zip(rows, verdicts):
        lines.append(
            f"{r.name:{width}}  {said:>{column}}  {_amount(r.ours, r.unit):>12}  "
            f"{_amount(r.baseline, r.unit):>12}  {r.baseline_name}"
        )
    return "\n".join(lines)


def _amount(value, unit):
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"
