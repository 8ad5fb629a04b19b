"""An engine started before the host's binfmt handlers: what up and doctor do (issue 11).

A second engine container (its own name and volume, the test bed's registries and seeds)
is restarted while the arm64 handler is disabled, so it emulates arm64 with its own QEMU,
as an engine does that started before `update-binfmts` or docker/setup-qemu-action.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed import (
    OfflineTestBed,
    run_up,
    second_engine,
    up_exports,
    wait_for_engine,
)

pytestmark = pytest.mark.engine

HANDLER = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


def _doctor(env: dict[str, str], registry: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "antrea-ci"), "doctor", "--registry", registry]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def _platform_line(output: str, platform: str) -> tuple[str, str]:
    """The doctor's line for platform, and the fix line under it ("" when ok)."""
    lines = output.splitlines()
    index = next(i for i, line in enumerate(lines) if f"platform {platform} " in line)
    fix = lines[index + 1].strip() if index + 1 < len(lines) else ""
    return lines[index], fix if fix.startswith("fix:") else ""


@pytest.fixture
def engine_without_arm64_handler(testbed: OfflineTestBed) -> Iterator[tuple[str, dict[str, str]]]:
    """A second engine; the arm64 handler is enabled again whatever the test did."""
    with second_engine("binfmt") as (name, env):
        try:
            yield name, env
        finally:
            HANDLER.write_text("1")


def test_up_restarts_an_engine_that_started_before_binfmt_and_doctor_says_why(
    testbed: OfflineTestBed, engine_without_arm64_handler: tuple[str, dict[str, str]]
) -> None:
    name, up_env = engine_without_arm64_handler
    first = run_up(up_env)
    assert first.returncode == 0, first.stderr
    engine_env = {**up_env, **up_exports(first.stdout)}
    assert engine_env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"] == f"docker-container://{name}"

    # The engine restarts while the host cannot run arm64 binaries: it falls back to its own
    # QEMU for arm64 (arm/v7 keeps the host's handler).
    HANDLER.write_text("0")
    subprocess.run(["docker", "restart", name], capture_output=True, check=True)
    wait_for_engine(name)
    doctor = _doctor(engine_env, testbed.registry)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    line, fix = _platform_line(doctor.stdout, "linux/arm64")
    assert line.startswith("fail") and "emulates it with its own emulator" in line, line
    assert "started before the host's binfmt handler for linux/arm64" in line
    assert "update-binfmts --enable qemu-aarch64" in fix and "restart the engine" in fix
    assert _platform_line(doctor.stdout, "linux/arm/v7")[0].startswith("ok")

    # up registers the handler again, finds the engine still on its own QEMU, restarts it once.
    second = run_up(up_env)
    assert second.returncode == 0, second.stderr
    assert f"restarting {name}: it started before the binfmt handlers" in second.stderr
    assert HANDLER.read_text().splitlines()[0] == "enabled"
    healed = _doctor(engine_env, testbed.registry)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert "emulated: uname -m printed aarch64" in _platform_line(healed.stdout, "linux/arm64")[0]
