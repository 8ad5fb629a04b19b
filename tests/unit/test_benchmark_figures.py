"""The benchmark's figures: medians of runs, ratios of medians, the Markdown table."""

from __future__ import annotations

from benchmarks.figures import Comparison, Figure, markdown_table


def test_figures_keep_the_median_and_comparisons_divide_medians() -> None:
    emulated = Figure("emulated", values=[300.0, 100.0, 200.0])
    cross = Figure("cross", values=[20.0, 10.0, 30.0, 40.0])
    memory = Figure("engine peak", "MiB", [2048.4])
    assert emulated.median == 200 and cross.median == 25
    assert Comparison("Go for arm64", emulated, cross).ratio == 8
    table = markdown_table([emulated, cross, memory], [Comparison("Go", emulated, cross)])
    lines = table.splitlines()
    assert lines[2] == "| emulated | 200.0 s | 300.0, 100.0, 200.0 |"
    assert lines[4] == "| engine peak | 2048 MiB | 2048.4 |"
    assert lines[-1] == "| Go: emulated / cross | 8.0x |"
