"""The Markdown summaries a run writes, read back as a person's Markdown viewer would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ci.core.baseline import compare, load_timings
from ci.core.summary import (
    FailedTest,
    ImageFacts,
    RunSummary,
    TrendRun,
    append,
    comparison_section,
    load_trend,
    release_section,
    tarball_facts,
    trend_chart,
    unit_tests_section,
)
from ci.core.timings import StageTimes
from tests.support.markdown import markdown_tables as tables
from tests.support.tarballs import write_tarball


def fixture_times() -> StageTimes:
    times = StageTimes("build")
    times.record("linux/arm64", "plan", 1.25, emulated=True)
    times.record("linux/arm64", "ovs", 0.5, emulated=True, pulled=True)
    times.record("linux/arm64", "agent", 40.0, emulated=True)
    times.took("linux/arm64", 41.0)
    times.record("linux/amd64", "plan", 1.0)
    times.record("linux/amd64", "agent", 12.0)
    return times


def test_a_build_summary_is_a_stage_table_and_an_image_table() -> None:
    summary = RunSummary("antrea-ci build", fixture_times())
    summary.images.append(ImageFacts("antrea-agent-ubuntu", "linux/arm64", "sha256:ab", 3 << 20))
    summary.notes.append("engine: 3 commands ran, 40 served from its cache")
    stages, images = tables(summary.markdown())
    assert stages[0] == ["stage", "linux/arm64 (emulated)", "linux/amd64 (native)"]
    assert stages[1] == ["plan", "1.2 s (likely-hit)", "1.0 s (likely-hit)"]
    assert stages[2] == ["ovs", "0.5 s (registry)", "-"]
    assert stages[3] == ["agent", "40.0 s", "12.0 s"]
    assert stages[4] == ["**total**", "**41.0 s**", "**13.0 s**"]
    assert images == [
        ["image", "platform", "digest", "compressed"],
        ["`antrea-agent-ubuntu`", "linux/arm64", "`sha256:ab`", "3.0 MiB"],
    ]
    assert summary.markdown().startswith("## antrea-ci build\n")
    assert "- engine: 3 commands ran, 40 served from its cache" in summary.markdown()


def test_a_failing_test_run_names_each_test_with_its_first_lines() -> None:
    output = [f"line {n}\n" for n in range(10)]
    text = unit_tests_section(
        "linux/amd64",
        7,
        2,
        1,
        "race detector on",
        [FailedTest("pkg.TestA", output), FailedTest("pkg.TestB", ["panic: boom\n"])],
        cached_packages=3,
    )
    assert text.startswith("**2 failed** on linux/amd64 (race detector on): 7 passed")
    assert "3 packages' results from Go's test cache" in text
    assert "<code>pkg.TestA</code>" in text and "line 5" in text and "line 6" not in text
    assert "panic: boom" in text


def test_a_regression_is_marked(tmp_path: Path) -> None:
    old, new = StageTimes("build"), StageTimes("build")
    old.record("linux/amd64", "agent", 10.0)
    new.record("linux/amd64", "agent", 20.0)
    old.record("linux/amd64", "ovs", 30.0)
    new.record("linux/amd64", "ovs", 30.5)
    (tmp_path / "old.json").write_text(old.to_json())
    (tmp_path / "new.json").write_text(new.to_json())
    changes = compare(
        load_timings(tmp_path / "old.json"), load_timings(tmp_path / "new.json"), 25, 5
    )
    text = comparison_section(changes, 25)
    assert text.startswith("**1 stages more than 25% slower than the baseline**")
    (rows,) = tables(text)
    assert rows[1] == [
        "linux/amd64",
        "agent",
        "10.0 s",
        "20.0 s",
        "+100%",
        "**slower** :red_circle:",
    ]
    assert rows[2][-1] == ""


def test_a_publication_lists_each_tag_and_those_left_alone() -> None:
    pushed = "127.0.0.1:5310/ns/antrea-agent-ubuntu:v2.7.0@sha256:aa"
    kept = "127.0.0.1:5310/ns/antrea-agent-ubuntu:latest@sha256:aa"
    text = release_section(
        [pushed, kept],
        ["127.0.0.1:5310/ns/antrea-agent-ubuntu:latest already is sha256:aa: unchanged"],
    )
    (rows,) = tables(text)
    assert rows[1] == [
        "`127.0.0.1:5310/ns/antrea-agent-ubuntu`",
        "`v2.7.0`",
        "`sha256:aa`",
        "pushed",
    ]
    assert rows[2][-1] == "unchanged"


def test_an_oci_tarballs_digest_and_compressed_size_are_read(tmp_path: Path) -> None:
    manifest = json.dumps(
        {"config": {"size": 100}, "layers": [{"size": 1000}, {"size": 24}]}
    ).encode()
    index = json.dumps({"manifests": [{"digest": "sha256:" + "ef" * 32}]}).encode()
    files = {"index.json": index, f"blobs/sha256/{'ef' * 32}": manifest}
    tarball = write_tarball(tmp_path / "image.tar", files)
    facts = tarball_facts("antrea-agent-ubuntu", "linux/amd64", tarball)
    assert facts.digest == "sha256:" + "ef" * 32 and facts.compressed == 1124


def test_the_trend_chart_draws_each_stage_over_the_runs(tmp_path: Path) -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for day in range(3):
        times = StageTimes("build")
        times.record("linux/arm64", "ovs", 100.0 + day)
        times.record("linux/arm64", "agent", 50.0 - day)
        (tmp_path / f"build-{day}.json").write_text(times.to_json(start + timedelta(days=day)))
    (tmp_path / "broken.json").write_text("{")
    runs = load_trend(sorted(tmp_path.glob("*.json")))
    assert [run.finished.day for run in runs] == [1, 2, 3]
    chart = trend_chart(runs, "linux/arm64", ["ovs", "agent"])
    assert chart.startswith("```mermaid\n") and "xychart-beta" in chart
    assert '    x-axis ["12-01 00:00", "12-02 00:00", "12-03 00:00"]' in chart
    assert "    line [100.0, 101.0, 102.0]" in chart and "    line [50.0, 49.0, 48.0]" in chart
    assert chart.endswith("Lines: blue: ovs, orange: agent.")
    same_minute = [
        TrendRun(start + timedelta(seconds=i), run.seconds) for i, run in enumerate(runs)
    ]
    labels = '    x-axis ["12-01 00:00:00", "12-01 00:00:01", "12-01 00:00:02"]'
    assert labels in trend_chart(same_minute, "linux/arm64", ["ovs"])
    one = [TrendRun(start, {("linux/arm64", "ovs"): 1.0})]
    assert trend_chart(one, "linux/arm64", ["ovs"]) == ""
    # A stage one run lacks is named, never drawn as zero.
    lacking = [*runs, TrendRun(start + timedelta(days=4), {("linux/arm64", "ovs"): 99.0})]
    chart = trend_chart(lacking, "linux/arm64", ["ovs", "agent"])
    assert "    line [100.0, 101.0, 102.0, 99.0]" in chart and chart.count("    line [") == 1
    assert chart.endswith("Lines: blue: ovs. Not in every run, not drawn: agent.")


def test_a_summary_appended_to_another_starts_after_a_blank_line(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    append(summary, "## one\n\n| a |\n| --- |\n| 1 |\n")
    append(summary, "## two\n")
    assert summary.read_text() == "## one\n\n| a |\n| --- |\n| 1 |\n\n## two\n"
