"""An engine started before the host's binfmt handlers: what up and doctor do (issue 11).

The test bed's engine is restarted while the arm64 handler is disabled, so it emulates
arm64 with its own QEMU, as an engine does that started before `update-binfmts` or
docker/setup-qemu-action; then up must find that out and restart it once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.testbed import OfflineTestBed, engine_container, restart_engine, run_up

pytestmark = [pytest.mark.engine, pytest.mark.host_binfmt]

HANDLER = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


def _doctor(registry: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "antrea-ci"), "doctor", "--registry", registry]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def _platform_line(output: str, platform: str) -> tuple[str, str]:
    """The doctor's line for platform, and the fix line under it ("" when ok)."""
    lines = output.splitlines()
    index = next(i for i, line in enumerate(lines) if f"platform {platform} " in line)
    fix = lines[index + 1].strip() if index + 1 < len(lines) else ""
    return lines[index], fix if fix.startswith("fix:") else ""


def _enabled() -> bool:
    return HANDLER.read_text().splitlines()[0] == "enabled"


@pytest.fixture
def engine_name(testbed: OfflineTestBed) -> Iterator[str]:
    """The engine container; whatever the test did, the handler and the engine are healed."""
    name = engine_container()
    yield name
    if not _enabled():
        HANDLER.write_text("1")
        restart_engine(name)


def test_up_restarts_an_engine_that_started_before_binfmt_and_doctor_says_why(
    testbed: OfflineTestBed, engine_name: str
) -> None:
    # The engine restarts while the host cannot run arm64 binaries: it falls back to its own
    # QEMU for arm64 (arm/v7 keeps the host's handler).
    HANDLER.write_text("0")
    restart_engine(engine_name)
    doctor = _doctor(testbed.registry)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    line, fix = _platform_line(doctor.stdout, "linux/arm64")
    assert line.startswith("fail") and "emulates it with its own emulator" in line, line
    assert "started before the host's binfmt handler for linux/arm64" in line
    assert "update-binfmts --enable qemu-aarch64" in fix and "restart the engine" in fix
    assert _platform_line(doctor.stdout, "linux/arm/v7")[0].startswith("ok")

    # up registers the handler again, finds the engine still on its own QEMU, restarts it once.
    up = run_up()
    assert up.returncode == 0, up.stderr
    assert f"restarting {engine_name}: it started before the binfmt handlers" in up.stderr
    assert _enabled()
    healed = _doctor(testbed.registry)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert "emulated: uname -m printed aarch64" in _platform_line(healed.stdout, "linux/arm64")[0]
