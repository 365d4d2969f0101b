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


def format_table(rows):
    """The rows as an aligned text table, ratio first (above 1: ours is better than the baseline)."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'benchmark':{width}}  {'ratio (>1: ours better)':>23}  {'ours':>12}  {'baseline':>12}  baseline is"]
    for r in rows:
        ratio = f"{r.ratio:7.1f}x" if r.ratio >= 10 else f"{r.ratio:7.2f}x" if r.ratio >= 0.1 else f"{r.ratio:7.4f}x"
        lines.append(
            f"{r.name:{width}}  {ratio:>23}  {_amount(r.ours, r.unit):>12}  "
            f"{_amount(r.baseline, r.unit):>12}  {r.baseline_name}"
        )
    return "\n".join(lines)


def _amount(value, unit):
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"
