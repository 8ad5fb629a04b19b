"""Build-time baselines: the timings record of a run and its comparison with another."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ci.cli import app
from ci.core.baseline import BaselineError, compare, comparison_table, load_timings
from ci.core.platforms import parse_platform, runs_natively
from ci.core.timings import StageTimes
from tests.support.markdown import markdown_tables

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def timings(
    path: Path, stages: dict[str, float], command: str = "build", emulated: bool = True
) -> Path:
    times = StageTimes(command)
    for stage, seconds in stages.items():
        times.record("linux/arm64", stage, seconds, emulated=emulated)
    path.write_text(times.to_json())
    return path


def test_the_record_holds_each_stage_with_platform_emulation_and_cache() -> None:
    times = StageTimes("build")
    times.record("linux/amd64", "agent", 0.4)
    times.record("linux/arm64", "ovs", 300.0, emulated=True)
    times.record("linux/arm64", "base", 3.0, emulated=True, pulled=True)
    document = json.loads(times.to_json(datetime(2026, 11, 26, tzinfo=UTC)))
    assert document["command"] == "build"
    assert document["finished"] == "2026-11-26T00:00:00+00:00"
    assert document["stages"] == [
        {"platform": "linux/amd64", "stage": "agent", "seconds": 0.4, "emulated": False,
         "cache": "likely-hit"},
        {"platform": "linux/arm64", "stage": "ovs", "seconds": 300.0, "emulated": True,
         "cache": "ran"},
        {"platform": "linux/arm64", "stage": "base", "seconds": 3.0, "emulated": True,
         "cache": "registry"},
    ]  # fmt: skip


def test_a_stage_is_slower_past_both_the_percentage_and_the_seconds(tmp_path: Path) -> None:
    old = load_timings(timings(tmp_path / "old.json", {"ovs": 100.0, "agent": 3.0, "base": 50.0}))
    new = load_timings(
        timings(tmp_path / "new.json", {"ovs": 125.0, "agent": 5.5, "controller": 2.0})
    )
    changes = {change.stage: change for change in compare(old, new, 20, 5)}
    assert changes["ovs"].slower and changes["ovs"].percent == 25
    assert not changes["agent"].slower  # +83%, but only 2.5 s
    assert changes["base"].note == "only in the baseline" and not changes["base"].slower
    assert changes["controller"].note == "only in the new run"
    assert not compare(old, new, 30, 5)[0].slower
    lines = comparison_table(list(changes.values())).splitlines()
    assert lines[0].split() == ["platform", "stage", "baseline", "new", "change"]
    assert lines[2].split() == ["linux/arm64", "ovs", "100.0s", "125.0s", "+25%", "SLOWER"]


def test_stages_emulated_or_cached_differently_are_not_compared(tmp_path: Path) -> None:
    native = load_timings(timings(tmp_path / "native.json", {"ovs": 100.0}, emulated=False))
    emulated = load_timings(timings(tmp_path / "emulated.json", {"ovs": 900.0}))
    (change,) = compare(native, emulated, 20, 5)
    assert not change.slower and change.note == "not compared: emulated in one run only"
    pulled = StageTimes("build")
    pulled.record("linux/arm64", "ovs", 3.0, emulated=True, pulled=True)
    (tmp_path / "pulled.json").write_text(pulled.to_json())
    (change,) = compare(load_timings(tmp_path / "pulled.json"), emulated, 20, 5)
    assert not change.slower and change.note == "not compared: cache registry then ran"


def test_runs_of_different_commands_are_refused(tmp_path: Path) -> None:
    build = load_timings(timings(tmp_path / "build.json", {"ovs": 1.0}))
    test = load_timings(timings(tmp_path / "test.json", {"unit-tests": 1.0}, "test"))
    with pytest.raises(BaselineError, match="different commands"):
        compare(build, test, 20, 5)


def test_fields_a_later_version_adds_are_ignored_and_zero_baselines_compare(
    tmp_path: Path,
) -> None:
    document = json.loads(timings(tmp_path / "old.json", {"ovs": 0.0}).read_text())
    document["stages"][0]["runner"] = "ubuntu-24.04-arm"
    (tmp_path / "old.json").write_text(json.dumps(document))
    new = load_timings(timings(tmp_path / "new.json", {"ovs": 1.5}))
    (change,) = compare(load_timings(tmp_path / "old.json"), new, 20, 5)
    assert change.percent == float("inf") and not change.slower and change.note == ""
    assert "+inf%" in comparison_table([change])


def test_baseline_compare_exits_non_zero_only_when_a_stage_is_slower(tmp_path: Path) -> None:
    old = timings(tmp_path / "old.json", {"ovs": 100.0})
    same = timings(tmp_path / "same.json", {"ovs": 104.0})
    slow = timings(tmp_path / "slow.json", {"ovs": 200.0})
    result = runner.invoke(app, ["baseline", "compare", str(old), str(same)])
    assert result.exit_code == 0, result.output
    summary = tmp_path / "summary.md"
    result = runner.invoke(
        app, ["baseline", "compare", str(old), str(slow), "--summary", str(summary)]
    )
    assert result.exit_code == 1
    assert "+100%" in result.output and "linux/arm64 ovs" in result.output
    (rows,) = markdown_tables(summary.read_text())
    assert rows[1] == [
        "linux/arm64",
        "ovs",
        "100.0 s",
        "200.0 s",
        "+100%",
        "**slower** :red_circle:",
    ]
    result = runner.invoke(
        app, ["baseline", "compare", str(old), str(slow), "--max-slowdown", "150"]
    )
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "content", ['{"durations": []}', '{"command": "build", "stages": [{"seconds": "x"}]}', "{"]
)
def test_baseline_compare_refuses_a_file_it_did_not_write(tmp_path: Path, content: str) -> None:
    other = tmp_path / "other.json"
    other.write_text(content)
    result = runner.invoke(app, ["baseline", "compare", str(other), str(other)])
    assert result.exit_code == 2
    assert "not an antrea-ci timings file" in result.output


def test_arm_v7_runs_natively_on_an_arm64_engine_only() -> None:
    arm64, arm, amd64 = (parse_platform(p) for p in ("linux/arm64", "linux/arm/v7", "amd64"))
    assert runs_natively(arm, arm64) and runs_natively(arm64, arm64)
    assert not runs_natively(arm, amd64) and not runs_natively(arm64, amd64)
    assert not runs_natively(amd64, arm64)
