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


def test_a_run_stopped_at_a_limit_makes_the_median_and_ratio_bounds() -> None:
    emulated = Figure("emulated", values=[900.0], stopped={0})
    cross = Figure("cross", values=[80.0])
    assert emulated.at_least and not cross.at_least
    table = markdown_table([emulated, cross], [Comparison("Go", emulated, cross)])
    lines = table.splitlines()
    assert lines[2] == "| emulated | >= 900.0 s | >= 900.0 |"
    assert lines[-1] == "| Go: emulated / cross | >= 11.2x |"
    assert Comparison("Go", cross, emulated).cell() == "<= 0.1x"
    assert Comparison("Go", emulated, emulated).cell() == "unknown (both stopped)"


def test_the_median_of_some_stopped_runs_is_a_lower_bound() -> None:
    figure = Figure("emulated", values=[100.0, 300.0, 200.0], stopped={1})
    assert figure.median == 200 and figure.at_least
    assert figure.runs() == "100.0, >= 300.0, 200.0"
