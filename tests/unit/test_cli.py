"""The antrea-ci command line refuses bad input before connecting to an engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagger
import pytest
import tenacity
import typer
from gql.transport.exceptions import TransportServerError
from typer.testing import CliRunner

from ci.cli import app
from ci.cli.options import build_inputs, input_arguments, parse_auth
from ci.cli.running import run as _run
from ci.core.platforms import PlatformError
from ci.core.timings import StageTimes, image_tarball_name
from ci.release.push import PublishError

FIXTURE = Path(__file__).parents[1] / "fixtures/antrea-mini"
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def test_unknown_platform_is_a_usage_error() -> None:
    result = runner.invoke(app, ["build", "--source", str(FIXTURE), "--platform", "linux/mips"])
    assert result.exit_code == 2
    assert "linux/mips" in result.output


def test_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", "--source", str(tmp_path / "nowhere")])
    assert result.exit_code == 2


def test_stage_table_has_a_row_per_stage_and_totals() -> None:
    times = StageTimes()
    times.record("linux/amd64", "ovs", 12.0)
    times.record("linux/amd64", "agent", 3.25)
    times.record("linux/arm64", "ovs", 60.0)
    lines = times.table().splitlines()
    assert lines[0].split() == ["stage", "linux/amd64", "linux/arm64"]
    assert lines[2].split() == ["ovs", "12.0s", "60.0s"]
    assert lines[3].split() == ["agent", "3.2s", "-"]
    assert lines[4].split() == ["total", "15.2s", "60.0s"]


def test_stage_table_totals_the_wall_time_where_stages_overlapped() -> None:
    times = StageTimes()
    times.record("linux/arm64", "ovs", 60.0)
    times.record("linux/arm64", "controller", 20.0)
    times.took("linux/arm64", 61.5)
    assert times.table().splitlines()[-1].split() == ["total", "61.5s"]


def test_tarball_names_are_per_image_and_platform() -> None:
    assert image_tarball_name("antrea-agent", "linux/arm/v7") == "antrea-agent-linux-arm-v7.tar"


def test_matrix_command_prints_json_for_ci() -> None:
    import json

    result = runner.invoke(app, ["matrix", "--fallback-runner", "ubuntu-24.04"])
    assert result.exit_code == 0
    entries = json.loads(result.output)["include"]
    assert [e["platform"] for e in entries] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def test_test_command_refuses_an_unknown_platform() -> None:
    result = runner.invoke(app, ["test", "--source", str(FIXTURE), "--platform", "windows/amd64"])
    assert result.exit_code == 2
    assert "windows/amd64" in result.output


def test_auth_takes_the_password_from_env_or_file() -> None:
    assert parse_auth("ghcr.io=bot:env:GHCR_TOKEN") == ("ghcr.io", "bot", "env", "GHCR_TOKEN")
    assert parse_auth("docker.io=antrea:file:/run/pw") == ("docker.io", "antrea", "file", "/run/pw")


def test_auth_with_a_plain_password_is_a_usage_error() -> None:
    result = runner.invoke(
        app,
        [
            "publish",
            "--source",
            str(FIXTURE),
            "--namespace",
            "ghcr.io/antrea-io",
            "--tag",
            "v1",
            "--auth",
            "ghcr.io=bot:hunter2",
        ],
    )
    assert result.exit_code == 2
    assert "REGISTRY=USER:env:VARIABLE" in result.output
    assert "hunter2" in result.output  # the refused argument is echoed, it was not a secret


def test_auth_from_an_unset_variable_is_a_usage_error() -> None:
    result = runner.invoke(
        app,
        [
            "publish-base",
            "--source",
            str(FIXTURE),
            "--namespace",
            "ghcr.io/antrea-io",
            "--auth",
            "ghcr.io=bot:env:ANTREA_CI_NO_SUCH_VARIABLE",
        ],
    )
    assert result.exit_code == 2
    assert "ANTREA_CI_NO_SUCH_VARIABLE is not set" in result.output


def test_a_lost_engine_is_one_line_whatever_failed_with_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def main() -> None:
        raise ExceptionGroup(
            "tasks",
            [
                dagger.TransportError("Failed to execute request"),
                PublishError("pushing x failed: connection reset"),
            ],
        )

    with pytest.raises(typer.Exit) as exited:
        _run(main)
    assert exited.value.exit_code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: the Dagger engine went away (Failed to execute request)")


def test_a_lost_engine_behind_the_sdks_retries_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @tenacity.retry(stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_none())
    async def main() -> None:
        raise TransportServerError("502 Server Error: Bad Gateway", 502)

    with pytest.raises(typer.Exit):
        _run(main)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: the Dagger engine went away (502 Server Error: Bad Gateway)")


def test_user_errors_are_a_line_each_and_other_errors_keep_their_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def failing() -> None:
        raise ExceptionGroup("tasks", [PublishError("one"), PlatformError("two")])

    with pytest.raises(typer.Exit):
        _run(failing)
    assert capsys.readouterr().err.splitlines() == ["error: one", "error: two"]

    async def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        _run(broken)


def test_a_routed_runs_processes_get_the_build_inputs_they_were_given(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    @build_inputs()
    def command(inputs: dict[str, Any]) -> None:
        seen.append(inputs)

    probe = typer.Typer()
    probe.command()(command)
    tarball = tmp_path / "openvswitch-3.7.1.tar.gz"
    tarball.write_bytes(b"")
    given = [
        *["--source", str(tmp_path), "--ovs-tarball", str(tarball)],
        *["--go-image", "golang:1.26", "--allow-ovs-version-mismatch"],
        *["--cache-to", "registry.example/cache", "--base-registry", "registry.example/bases"],
    ]
    runner = CliRunner(env={"ANTREA_CI_DISTRO_IMAGE": "", "ANTREA_CI_GO_IMAGE": ""})
    assert runner.invoke(probe, given).exit_code == 0
    again = input_arguments(seen[0])
    assert runner.invoke(probe, again).exit_code == 0
    assert seen[1] == seen[0]
    assert seen[0]["allow_ovs_version_mismatch"] is True
    assert input_arguments({}) == []
