"""The processes of a routed run (ci/engine/routing.py): real child processes standing in
for antrea-ci, no engine. What they print and how the hold is released or called off."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import typer.core
import typer.main

from ci.cli import app
from ci.cli.release import WaitForGo
from ci.cli.routed import RoutedPublish
from ci.core.engines import EngineGroup, group_by_engine, parse_routes
from ci.core.platforms import parse_platform
from ci.engine.routing import GO, READY, EngineFleet, EngineJob, RoutedFailure, engine_environment
from ci.release.push import PublishError

# A stand-in for `antrea-ci publish-arch --hold`: says READY, pushes ("pushed X") on GO,
# exits 3 ("called off") otherwise. Its first argument: "fail" fails before being ready,
# "slow" is ready a second late.
HELD = f"""
import sys, time
name = sys.argv[1]
if name == "slow":
    time.sleep(1)
if name == "fail":
    print("error: the build failed", file=sys.stderr)
    print("timings in timings/publish-arch.json", file=sys.stderr)
    sys.exit(1)
print({READY!r}, flush=True)
if sys.stdin.readline().strip() != {GO!r}:
    print("error: called off", file=sys.stderr)
    sys.exit(3)
print("pushed " + name)
"""


AMD64, ARM64 = parse_platform("linux/amd64"), parse_platform("linux/arm64")


def job(name: str, host: str = "") -> EngineJob:
    return EngineJob(EngineGroup(host, (parse_platform("linux/arm64"),)), [name])


def fleet(said: list[str]) -> EngineFleet:
    return EngineFleet(said.append, [sys.executable, "-c", HELD])


async def test_held_processes_push_once_every_one_is_ready() -> None:
    said: list[str] = []
    jobs = [job("amd64"), job("arm64", "tcp://arm:1")]
    await fleet(said).run(jobs, hold=True)
    assert [j.stdout for j in jobs] == [["pushed amd64"], ["pushed arm64"]]
    assert said == []


async def test_one_failure_before_ready_calls_every_push_off_and_names_its_engine() -> None:
    said: list[str] = []
    jobs = [job("amd64"), job("fail", "tcp://arm:1")]
    with pytest.raises(RoutedFailure) as failed:
        await fleet(said).run(jobs, hold=True)
    assert [j.stdout for j in jobs] == [[], []]
    message = str(failed.value)
    assert "fail linux/arm64 on tcp://arm:1 failed (exit 1): the build failed" in message
    assert "amd64 linux/arm64 on the default engine failed (exit 3): called off" in message
    assert "[tcp://arm:1] error: the build failed" in said


async def test_without_hold_each_process_runs_to_its_end() -> None:
    said: list[str] = []
    plain = EngineFleet(said.append, [sys.executable, "-c", "import sys; print(sys.argv[1])"])
    jobs = [job("one"), job("two")]
    await plain.run(jobs)
    assert [j.stdout for j in jobs] == [["one"], ["two"]]


def test_a_process_is_pointed_at_its_engine_and_the_default_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "docker-container://default")
    assert engine_environment("tcp://arm:1")["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] == "tcp://arm:1"
    default = engine_environment("")["_EXPERIMENTAL_DAGGER_RUNNER_HOST"]
    assert default == "docker-container://default"


async def test_a_process_ready_after_the_release_was_called_off_is_called_off_too() -> None:
    # The failure ends before the slow one is ready: it is told when it becomes ready.
    jobs = [job("fail"), job("slow")]
    with (
        anyio.fail_after(30),
        pytest.raises(RoutedFailure, match="slow linux/arm64 on the default engine failed"),
    ):
        await fleet([]).run(jobs, hold=True)
    assert jobs[1].returncode == 3


def parsed(arguments: list[str]) -> dict[str, Any]:
    """The parameters antrea-ci's own parser gives a command line (nothing runs)."""
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    name, *rest = arguments
    sub = command.commands[name]
    with sub.make_context(name, list(rest)) as context:
        return dict(context.params)


def test_a_routed_publish_runs_commands_antrea_ci_accepts(tmp_path: Path) -> None:
    arm = "docker-container://antrea-ci-engine-2"
    groups = group_by_engine([AMD64, ARM64], parse_routes([f"linux/arm64={arm}"]))
    plan = RoutedPublish(
        groups,
        {"source": tmp_path, "go_image": "golang:1.26"},
        ["--namespace", "ghcr.io/me", "--tag", "v2.7.0", "--overwrite"],
        gate_tests="./pkg/util/...",
        latest=True,
        auth=["ghcr.io=me:env:GHCR_TOKEN"],
        timings=tmp_path / "publish.json",
    )
    amd64, arm64 = plan.per_arch()
    assert (amd64.group.runner_host, arm64.group.runner_host) == ("", arm)
    for job, platform in ((amd64, "linux-amd64"), (arm64, "linux-arm64")):
        params = parsed(job.arguments)
        assert params["hold"] is True and params["overwrite"] is True
        assert (params["gate_tests"], params["go_image"]) == ("./pkg/util/...", "golang:1.26")
        assert params["source"] == tmp_path and params["auth"] == ["ghcr.io=me:env:GHCR_TOKEN"]
        assert params["timings"] == tmp_path / f"publish-{platform}.json"
    assert parsed(amd64.arguments)["platform"] == "linux/amd64"
    merge = plan.merge()
    assert merge.group == EngineGroup("", (AMD64, ARM64))
    params = parsed(merge.arguments)
    assert params["platforms"] == ["linux/amd64", "linux/arm64"]
    assert params["latest"] is True and params["timings"] == tmp_path / "publish.json"


@pytest.mark.parametrize(("answer", "pushes"), [(f"{GO}\n", True), ("", False), ("stop\n", False)])
async def test_the_hold_says_ready_pushes_only_on_go_and_keeps_its_wait(
    answer: str, pushes: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    hold = WaitForGo(seconds=-1.0)
    if pushes:
        await hold()
    else:
        with pytest.raises(PublishError, match="called off before the first push"):
            await hold()
    assert capsys.readouterr().out == f"{READY}\n"
    assert hold.seconds >= 0
