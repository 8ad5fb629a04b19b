"""The benchmark's host commands: a stopped command takes the processes it started along."""

from __future__ import annotations

import subprocess
from pathlib import Path

import anyio
import pytest

from benchmarks.common import run_process_group, within
from benchmarks.figures import Figure


def alive(pid: int) -> bool:
    """Whether the process runs (a killed one may linger as a zombie until reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def dies_within(pid: int, seconds: float) -> bool:
    """Whether the process is gone within the seconds (SIGKILL is delivered, not awaited:
    a loaded machine may take a moment to end a killed grandchild)."""
    with anyio.move_on_after(seconds):
        while alive(pid):
            await anyio.sleep(0.05)
        return True
    return False


async def test_a_stopped_command_is_killed_with_its_children(tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {child}; wait"
    figure = Figure("host build")
    await within(figure, 1.0, lambda: run_process_group(["sh", "-c", script], tmp_path, {}))
    assert figure.stopped == {0}
    assert await dies_within(int(child.read_text()), 10)


async def test_a_failing_command_raises(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        await run_process_group(["sh", "-c", "exit 3"], tmp_path, {})
