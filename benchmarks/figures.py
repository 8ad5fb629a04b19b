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

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cell(self) -> str:
        if self.unit == "s":
            return f"{self.median:.1f} s"
        return f"{self.median:.0f} {self.unit}"


@dataclass(frozen=True)
class Comparison:
    """Two figures of the same run, and how many times the first is the second."""

    title: str
    slow: Figure
    fast: Figure

    @property
    def ratio(self) -> float:
        return self.slow.median / self.fast.median


def markdown_table(figures: list[Figure], comparisons: list[Comparison]) -> str:
    """Figures (median and each run) then comparisons (ratios of medians), as Markdown."""
    lines = ["| figure | median | runs |", "| --- | ---: | --- |"]
    for figure in figures:
        runs = ", ".join(f"{value:.1f}" for value in figure.values)
        lines.append(f"| {figure.name} | {figure.cell()} | {runs} |")
    lines += ["", "| comparison | ratio |", "| --- | ---: |"]
    for comparison in comparisons:
        lines.append(
            f"| {comparison.title}: {comparison.slow.name} / {comparison.fast.name} "
            f"| {comparison.ratio:.1f}x |"
        )
    return "\n".join(lines)
