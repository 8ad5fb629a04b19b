"""`antrea-ci doctor` against the offline test bed (issue 6)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import pytest

from ci.core.platforms import configured_platforms
from ci.doctor.probes import engine_checks, registry_checks
from ci.doctor.verdicts import CheckResult, Status
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

UNREACHABLE = "127.0.0.1:9"
# The test bed runs on x86-64: its engine runs amd64 natively and emulates the others.
PLATFORM_CHECKS = {
    "platform linux/amd64": "native: uname -m printed x86_64",
    "platform linux/arm64": "emulated: uname -m printed aarch64",
    "platform linux/arm/v7": "emulated: uname -m printed armv7l",
}


async def test_engine_answers_and_runs_every_configured_platform(engine: OfflineTestBed) -> None:
    platforms = [entry.platform for entry in configured_platforms()]
    results = [result async for result in engine_checks(platforms, engine.distro_image, "0.21.8")]
    engine_check, *platform_checks = results
    assert engine_check == CheckResult("engine", Status.OK, "v0.21.8 on linux/amd64")
    assert {check.name: (check.status, check.detail) for check in platform_checks} == {
        name: (Status.OK, detail) for name, detail in PLATFORM_CHECKS.items()
    }


async def test_registries_answer_or_fail_with_a_fix(engine: OfflineTestBed) -> None:
    open_registry, auth_registry, unreachable = await registry_checks(
        [engine.registry, engine.auth_registry, UNREACHABLE]
    )
    assert open_registry.status is Status.OK
    assert open_registry.detail == f"http://{engine.registry}/v2/ answered 200"
    assert auth_registry.status is Status.OK
    assert auth_registry.detail.endswith("answered 401")
    assert unreachable.status is Status.FAIL
    assert unreachable.detail.startswith(f"cannot reach http://{UNREACHABLE}/v2/: ")
    assert unreachable.fix.startswith(f"start the registry on {UNREACHABLE}")


async def _doctor(*registries: str) -> tuple[int, list[str], dict[str, str]]:
    """Run `antrea-ci doctor`: exit code, output lines, and each check's status by name."""
    command = [str(Path(sys.executable).parent / "antrea-ci"), "doctor"]
    for registry in registries:
        command += ["--registry", registry]
    result = await anyio.run_process(command, check=False)
    lines = result.stdout.decode().splitlines()
    check_lines = [line for line in lines if not line.startswith(" ")]  # not fix lines
    statuses = {
        name: status
        for status, name, _ in (re.split(r"\s{2,}", line, maxsplit=2) for line in check_lines)
    }
    return result.returncode, lines, statuses


async def test_doctor_command_passes_on_the_test_bed(engine: OfflineTestBed) -> None:
    code, lines, statuses = await _doctor(engine.registry)
    assert code == 0, "\n".join(lines)
    assert "v0.21.8 on linux/amd64" in next(line for line in lines if "engine" in line)
    disks = {name: statuses.pop(name) for name in list(statuses) if name.startswith("disk: ")}
    assert set(disks.values()) <= {"ok", "warn"}
    assert "disk: working directory" in disks
    assert statuses == {
        "dagger CLI": "ok",
        "docker": "ok",
        "engine": "ok",
        **dict.fromkeys(PLATFORM_CHECKS, "ok"),
        f"registry {engine.registry}": "ok",
    }


async def test_doctor_command_fails_on_an_unreachable_registry(engine: OfflineTestBed) -> None:
    code, lines, statuses = await _doctor(engine.registry, UNREACHABLE)
    assert code == 1, "\n".join(lines)
    assert statuses[f"registry {engine.registry}"] == "ok"
    assert statuses[f"registry {UNREACHABLE}"] == "fail"
    failed = next(line for line in lines if line.startswith(f"fail  registry {UNREACHABLE}"))
    fix = lines[lines.index(failed) + 1].strip()
    assert fix.startswith(f"fix: start the registry on {UNREACHABLE}")
    assert [name for name, status in statuses.items() if status == "fail"] == [
        f"registry {UNREACHABLE}"
    ]
