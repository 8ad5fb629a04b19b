"""The job summary's chart and page drawn as a person sees them: Mermaid from npm in
Debian's Chromium (tests/engine/tools installs both); the images are measured."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ci.core.summary import RunSummary, TrendRun, trend_chart
from ci.core.timings import StageTimes
from tests.support.rendering import MERMAID_BLOCK, inked_share, mermaid_png, page_png, size


def runs() -> list[TrendRun]:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    return [
        TrendRun(
            start + timedelta(days=day),
            {
                ("linux/arm64", "ovs"): 100.0 + 10 * day,
                ("linux/arm64", "agent"): 60.0 - 5 * day,
                ("linux/arm64", "controller"): 30.0 + day,
            },
        )
        for day in range(5)
    ]


def test_the_trend_chart_is_drawn_with_its_lines(tmp_path: Path) -> None:
    chart = trend_chart(runs(), "linux/arm64", ["ovs", "agent", "controller"])
    (block,) = MERMAID_BLOCK.findall(chart)
    png = mermaid_png(block, tmp_path / "chart.png")
    width, height = size(png)
    assert width >= 600 and height >= 300, (width, height)
    assert inked_share(png) > 0.02, inked_share(png)


def test_a_broken_chart_is_refused_by_mermaid(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        mermaid_png("xychart-beta\n    line [1, nope]\n", tmp_path / "broken.png")


def test_a_summary_page_is_drawn(tmp_path: Path) -> None:
    times = StageTimes("build")
    times.record("linux/arm64", "agent", 40.0, emulated=True)
    report = RunSummary("antrea-ci build linux/arm64", times)
    report.sections.append(trend_chart(runs(), "linux/arm64", ["ovs", "agent"]))
    png = page_png(report.markdown(), tmp_path / "page.png", 1000, 900)
    assert size(png) == (1000, 900)
    assert inked_share(png) > 0.02
