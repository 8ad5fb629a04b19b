"""What `antrea-ci doctor` concludes and prints, without an engine (issue 6)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ci.cli.doctor as cli
from ci.cli import app
from ci.core.engines import EngineFacts, engine_refusal
from ci.core.platforms import Platform, parse_platform
from ci.doctor.probes import read_answers
from ci.doctor.verdicts import (
    EMULATION_FIX,
    CheckResult,
    Status,
    cli_version,
    complete_engine_results,
    dagger_cli_result,
    disk_result,
    docker_needed,
    emulation_failed,
    emulation_result,
    engine_facts,
    engine_result,
    engine_unreachable,
    exit_code,
    missing_cli_result,
    own_emulator_result,
    registry_result,
    routed_engine_result,
    verdict_table,
)

AMD64, ARM64, ARM = (parse_platform(p) for p in ("linux/amd64", "linux/arm64", "linux/arm/v7"))
OK = CheckResult("engine", Status.OK, "v0.21.8 on linux/amd64")
WARNED = CheckResult("disk: working directory", Status.WARN, "3.0 GB free", "free space")
FAILED = CheckResult("registry 127.0.0.1:9", Status.FAIL, "cannot reach", "start it")


def test_report_has_a_line_per_check_and_a_fix_under_each_warning_or_failure() -> None:
    lines = verdict_table([OK, WARNED, FAILED]).splitlines()
    assert lines == [
        "ok    engine                   v0.21.8 on linux/amd64",
        "warn  disk: working directory  3.0 GB free",
        "                               fix: free space",
        "fail  registry 127.0.0.1:9     cannot reach",
        "                               fix: start it",
    ]


def test_exit_code_is_1_only_when_a_check_failed() -> None:
    assert exit_code([OK, WARNED]) == 0
    assert exit_code([OK, WARNED, FAILED]) == 1


def test_results_survive_the_json_lines_of_the_probe_process() -> None:
    assert CheckResult.from_json(FAILED.to_json()) == FAILED
    assert json.loads(WARNED.to_json())["status"] == "warn"


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("dagger v0.21.8 (registry.dagger.io/engine:v0.21.8) linux/amd64\n", "0.21.8"),
        ("dagger v0.21.8 (offline test bed session CLI) docker-container://e\n", "0.21.8"),
        ("dagger v0.22.0-rc.1 (image) darwin/arm64", "0.22.0-rc.1"),
        ("command not understood", ""),
    ],
)
def test_cli_version_is_read_from_dagger_version(output: str, version: str) -> None:
    assert cli_version(output) == version


def test_cli_must_be_the_pinned_version_when_antrea_ci_uses_it() -> None:
    output = "dagger v0.21.8 (x) linux/amd64"
    assert dagger_cli_result("/usr/bin/dagger", output, "0.21.8", True).status is Status.OK
    other = dagger_cli_result("/usr/bin/dagger", "dagger v0.20.1 (x) linux/amd64", "0.21.8", True)
    assert other.status is Status.FAIL
    assert "v0.20.1" in other.detail and "pins 0.21.8" in other.detail
    assert "DAGGER_VERSION=0.21.8" in other.fix
    assert dagger_cli_result("/usr/bin/dagger", "", "0.21.8", True).status is Status.FAIL


def test_another_cli_on_path_only_warns_since_the_sdk_fetches_its_own() -> None:
    other = dagger_cli_result("/usr/bin/dagger", "dagger v0.20.1 (x) linux/amd64", "0.21.8", False)
    assert other.status is Status.WARN and "used by `dagger call`" in other.detail


def test_a_missing_cli_only_warns() -> None:
    missing = missing_cli_result("0.21.8")
    assert missing.status is Status.WARN
    assert "install Dagger CLI v0.21.8" in missing.fix


def test_an_engine_of_another_version_warns() -> None:
    assert engine_result("v0.21.8", "linux/amd64", "0.21.8").status is Status.OK
    other = engine_result("v0.19.0", "linux/arm64", "0.21.8")
    assert other.status is Status.WARN
    assert other.detail == "v0.19.0 on linux/arm64, but antrea-ci pins 0.21.8"


@pytest.mark.parametrize(
    ("runner_host", "needed"),
    [
        ("", True),
        ("docker-container://antrea-ci-engine", True),
        ("image://registry.dagger.io/engine:v0.21.8", True),
        ("tcp://10.0.0.5:1234", False),
        ("unix:///run/dagger/engine.sock", False),
        ("podman-container://engine", False),
    ],
)
def test_docker_is_needed_when_the_engine_runs_in_it(runner_host: str, needed: bool) -> None:
    assert docker_needed(runner_host) is needed


def test_an_unreachable_engine_is_fixed_where_it_should_run() -> None:
    container = engine_unreachable("no answer within 5s", "docker-container://antrea-ci-engine")
    assert container.status is Status.FAIL
    assert container.detail == "no connection: no answer within 5s"
    assert "docker start antrea-ci-engine" in container.fix
    assert "tcp://10.0.0.5:1234" in engine_unreachable("refused", "tcp://10.0.0.5:1234").fix
    assert "Docker" in engine_unreachable("refused", "").fix


def test_each_platform_prints_its_own_machine_natively_or_emulated() -> None:
    assert emulation_result(AMD64, AMD64, "x86_64") == CheckResult(
        "platform linux/amd64", Status.OK, "native: uname -m printed x86_64"
    )
    assert emulation_result(ARM64, AMD64, "aarch64").detail == "emulated: uname -m printed aarch64"
    assert emulation_result(ARM, AMD64, "armv7l").status is Status.OK
    assert emulation_result(ARM, ARM64, "armv7l").detail.startswith("native:")


def test_a_wrong_machine_or_a_failed_exec_fails_with_the_emulation_fix() -> None:
    wrong = emulation_result(ARM64, AMD64, "x86_64")
    assert wrong.status is Status.FAIL
    assert wrong.detail == "emulated: uname -m printed 'x86_64', expected aarch64"
    assert "tonistiigi/binfmt --install all" in wrong.fix and "qemu-user-static" in wrong.fix
    failed = emulation_failed(ARM, AMD64, "exec format error")
    assert failed.status is Status.FAIL
    assert failed.detail == "emulated: uname -m failed: exec format error"
    assert failed.fix == EMULATION_FIX
    assert emulation_failed(AMD64, AMD64, "oops").fix != EMULATION_FIX


def test_an_engine_emulating_with_its_own_qemu_is_told_to_restart_after_binfmt() -> None:
    arm64 = own_emulator_result(ARM64, "exit code: 1")
    assert arm64.name == "platform linux/arm64"
    assert arm64.status is Status.FAIL
    assert arm64.detail.startswith("emulated: the engine emulates it with its own emulator")
    assert "(exit code: 1)" in arm64.detail
    assert "started before the host's binfmt handler for linux/arm64" in arm64.detail
    assert "update-binfmts --enable qemu-aarch64" in arm64.fix
    assert "restart the engine" in arm64.fix
    assert "qemu-arm," in own_emulator_result(ARM, "exit code: 1").fix


def test_platforms_not_answered_fail_and_say_why() -> None:
    platforms = [AMD64, ARM64]
    no_engine = complete_engine_results(platforms, {}, "no answer within 5s", "")
    assert [(r.name, r.status) for r in no_engine] == [
        ("engine", Status.FAIL),
        ("platform linux/amd64", Status.FAIL),
        ("platform linux/arm64", Status.FAIL),
    ]
    assert no_engine[0].detail == "no connection: no answer within 5s"
    assert no_engine[1].detail == "not checked: no engine"

    native = emulation_result(AMD64, AMD64, "x86_64")
    answers = {"engine": OK, native.name: native}
    late_arm = complete_engine_results(platforms, answers, "no answer within 5s", "")
    assert late_arm[:2] == [OK, native]
    assert late_arm[2].detail == "no answer: no answer within 5s"
    assert late_arm[2].fix == EMULATION_FIX


def test_a_registry_is_reachable_when_its_api_answers_200_or_401() -> None:
    assert registry_result("127.0.0.1:5310", 200).detail == (
        "http://127.0.0.1:5310/v2/ answered 200"
    )
    assert registry_result("ghcr.io", 401).status is Status.OK
    not_registry = registry_result("example.com", 404)
    assert not_registry.status is Status.FAIL
    assert not_registry.detail == "https://example.com/v2/ answered 404, not 200 or 401"


def test_an_unreachable_registry_fails_with_a_fix_for_where_it_is() -> None:
    loopback = registry_result("127.0.0.1:9", None, "All connection attempts failed")
    assert loopback.status is Status.FAIL
    assert loopback.detail == "cannot reach http://127.0.0.1:9/v2/: All connection attempts failed"
    assert "start the registry on 127.0.0.1:9" in loopback.fix
    remote = registry_result("registry.example.com", None, "Name or service not known")
    assert "HTTPS_PROXY" in remote.fix


def test_less_than_20_gb_free_warns() -> None:
    plenty = disk_result("docker data", "/var/lib/docker", 64_100_000_000)
    assert plenty == CheckResult("disk: docker data", Status.OK, "64.1 GB free at /var/lib/docker")
    short = disk_result("working directory", "/work", 19_900_000_000)
    assert short.status is Status.WARN
    assert short.detail == "19.9 GB free at /work, less than 20 GB"
    assert "local-cache prune" in short.fix


def _ends(pid: int, within: float = 5.0) -> bool:
    """Whether a process ends (or is left a zombie, killed) within so many seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


async def test_a_late_probe_process_is_killed_with_its_children() -> None:
    # Like the engine probe: a first answer, then a child (the session CLI) that hangs.
    script = (
        "import json, subprocess\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print(json.dumps({'name': 'engine', 'status': 'ok', 'detail': str(child.pid),"
        " 'fix': ''}), flush=True)\n"
        "child.wait()\n"
    )
    started = time.monotonic()
    answers, reason = await read_answers([sys.executable, "-c", script], 2, timeout=1)
    assert time.monotonic() - started < 10
    assert reason == "no answer within 1s"
    assert list(answers) == ["engine"]
    assert _ends(int(answers["engine"].detail))


async def test_a_probe_process_that_ends_early_is_reported() -> None:
    answers, reason = await read_answers([sys.executable, "-c", "exit(3)"], 1, timeout=30)
    assert answers == {}
    assert reason == "the probe process ended early (its errors are above)"


async def test_a_probe_process_that_answers_everything_is_complete() -> None:
    command = [sys.executable, "-c", "import sys; print(*sys.argv[1:], sep='\\n')"]
    answers, reason = await read_answers([*command, OK.to_json(), FAILED.to_json()], 2, 30)
    assert (answers, reason) == ({OK.name: OK, FAILED.name: FAILED}, "")


async def test_lines_that_are_not_answers_are_passed_over() -> None:
    command = [sys.executable, "-c", "import sys; print(*sys.argv[1:], sep='\\n')"]
    answers, reason = await read_answers([*command, "Connected to engine", OK.to_json()], 1, 30)
    assert (answers, reason) == ({OK.name: OK}, "")


def test_doctor_command_prints_the_report_and_exits_1_on_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Sequence[str], str, Sequence[Platform], float]] = []
    routed: list[tuple[Mapping[Platform, str] | None, bool]] = []

    async def diagnose(
        registries: Sequence[str],
        image: str,
        platforms: Sequence[Platform],
        timeout: float,
        routes: Mapping[Platform, str] | None = None,
        emulated_ok: bool = False,
    ) -> list[CheckResult]:
        seen.append((registries, image, platforms, timeout))
        routed.append((routes, emulated_ok))
        return [OK, FAILED] if registries else [OK, WARNED]

    monkeypatch.setattr(cli, "diagnose", diagnose)
    runner = CliRunner(env={"ANTREA_CI_DISTRO_IMAGE": "127.0.0.1:5310/probe:1", "COLUMNS": "200"})

    failing = runner.invoke(app, ["doctor", "--registry", "127.0.0.1:9", "--timeout", "5"])
    assert failing.exit_code == 1
    assert failing.output == verdict_table([OK, FAILED]) + "\n"
    assert seen[0] == (["127.0.0.1:9"], "127.0.0.1:5310/probe:1", [AMD64, ARM64, ARM], 5.0)

    assert routed[0] == ({}, False)

    routing = ["--engine", "linux/arm64=tcp://arm-builder:1234", "--emulated-engines"]
    runner.invoke(app, ["doctor", *routing])
    assert routed[-1] == ({ARM64: "tcp://arm-builder:1234"}, True)
    malformed = runner.invoke(app, ["doctor", "--engine", "arm64"])
    assert malformed.exit_code == 2
    assert "expected PLATFORM=RUNNER_HOST" in malformed.output

    warning = runner.invoke(app, ["doctor", "--probe-image", "busybox:1.37"])
    assert warning.exit_code == 0
    assert "fix: free space" in warning.output
    assert seen[-1][:2] == ([], "busybox:1.37")


def test_an_engine_named_by_engine_is_a_check_of_its_own() -> None:
    facts = EngineFacts("tcp://arm-builder:1234", "v0.21.8", "linux/amd64")
    refusal = engine_refusal(facts, [ARM64], "0.21.8", emulated_ok=False)
    failed = routed_engine_result(facts, [ARM64], refusal)
    assert (failed.name, failed.status) == ("engine tcp://arm-builder:1234", Status.FAIL)
    assert failed.detail.startswith("reports linux/amd64, which does not run linux/arm64")
    assert "--emulated-engines" in failed.fix
    taken = routed_engine_result(facts, [ARM64], "")
    assert (taken.status, taken.detail) == (Status.OK, "v0.21.8 on linux/amd64, takes linux/arm64")


def test_the_engine_check_gives_the_facts_routing_reads() -> None:
    found = engine_facts(engine_result("v0.21.8", "linux/arm64", "0.21.8"), "tcp://a:1")
    assert found == EngineFacts("tcp://a:1", "v0.21.8", "linux/arm64")
    older = engine_facts(engine_result("v0.20.1", "linux/arm64", "0.21.8"), "tcp://a:1")
    assert (older.version, older.platform) == ("v0.20.1", "linux/arm64")
    gone = engine_facts(engine_unreachable("connection refused", "tcp://a:1"), "tcp://a:1")
    assert gone.unreachable == "connection refused"
