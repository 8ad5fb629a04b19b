"""RESULTS.md's key figures, followed over its written real-tree runs (no engine)."""

from __future__ import annotations

from datetime import datetime

from benchmarks.key_figures import RESULTS, chart, recorded_runs

FIXTURE_RUN = """## 2026-11-26 21:41 UTC: `python -m benchmarks.run --section build --write`

On 2 cores, 24 GiB; offline test bed; source: the antrea-mini fixture.

| figure | median | runs |
| --- | ---: | --- |
| build linux/arm64, cold | 91.0 s | 91.0 |
"""
REAL_RUN = """## 2026-12-0{day} 09:16 UTC: `python -m benchmarks.run --source /tmp/t --write`

On 2 cores, 24 GiB; offline test bed; source: /tmp/t; OVS: the ovs-mini fixture.

| figure | median | runs |
| --- | ---: | --- |
| {cold} | {seconds} s | {seconds} |
| build linux/arm64, warm, one Go file changed | 17.8 s | 17.8 |
"""
BY_HAND = """## 2026-12-05 14:47 UTC: by hand

On 2 cores; source: /tmp/t.

| figure | median | runs |
| --- | ---: | --- |
| build linux/arm64, cold | 1.0 s | 1.0 |
"""


def test_written_real_tree_runs_are_followed_under_every_name_a_figure_had() -> None:
    text = "\n".join(
        [
            FIXTURE_RUN,
            REAL_RUN.format(day=3, cold="build linux/arm64, cold", seconds=490.9),
            REAL_RUN.format(
                day=4, cold="(a) build linux/arm64, new runner, no Go cache (cold)", seconds=316.7
            ),
            BY_HAND,
        ]
    )
    runs = recorded_runs(text)
    assert [run.finished for run in runs] == [
        datetime(2026, 12, 3, 9, 16),
        datetime(2026, 12, 4, 9, 16),
    ]
    assert [run.seconds[("linux/arm64", "cold")] for run in runs] == [490.9, 316.7]
    drawn = chart(text)
    assert "    line [490.9, 316.7]" in drawn and "    line [17.8, 17.8]" in drawn


def test_the_committed_results_have_a_chart_of_their_key_figures() -> None:
    drawn = chart(RESULTS.read_text())
    assert drawn.count("    line [") >= 2
