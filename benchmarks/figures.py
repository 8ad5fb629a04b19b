"""Benchmark figures: medians, ratios and the RESULTS.md table (pure, no engine)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One measured quantity and each run's value."""

    name: str
    unit: str = "s"
    values: list[float] = field(default_factory=list)
    # Runs stopped at a time limit (indices into values): their value is a lower bound.
    stopped: set[int] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def at_least(self) -> bool:
        """Whether the median is a lower bound (a run stopped before it finished can only
        have taken longer, so the true median cannot be smaller)."""
        return bool(self.stopped)

    def cell(self) -> str:
        bound = ">= " if self.at_least else ""
        if self.unit == "s":
            return f"{bound}{self.median:.1f} s"
        return f"{bound}{self.median:.0f} {self.unit}"

    def runs(self) -> str:
        return ", ".join(
            f"{'>= ' if index in self.stopped else ''}{value:.1f}"
            for index, value in enumerate(self.values)
        )


@dataclass(frozen=True)
class Comparison:
    """Two figures of the same run, and how many times the first is the second."""

    title: str
    slow: Figure
    fast: Figure

    @property
    def ratio(self) -> float:
        return self.slow.median / self.fast.median

    def cell(self) -> str:
        """The ratio, marked as a bound when one side is: a lower bound on the slow side
        makes the ratio one, on the fast side an upper one; on both sides it says nothing."""
        if self.slow.at_least and self.fast.at_least:
            return "unknown (both stopped)"
        bound = ">= " if self.slow.at_least else "<= " if self.fast.at_least else ""
        return f"{bound}{self.ratio:.1f}x"


def markdown_table(figures: list[Figure], comparisons: list[Comparison]) -> str:
    """Figures (median and each run) then comparisons (ratios of medians), as Markdown."""
    lines = ["| figure | median | runs |", "| --- | ---: | --- |"]
    for figure in figures:
        lines.append(f"| {figure.name} | {figure.cell()} | {figure.runs()} |")
    lines += ["", "| comparison | ratio |", "| --- | ---: |"]
    for comparison in comparisons:
        lines.append(
            f"| {comparison.title}: {comparison.slow.name} / {comparison.fast.name} "
            f"| {comparison.cell()} |"
        )
    return "\n".join(lines)
