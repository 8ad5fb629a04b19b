"""The README's offline quick start works as written, on the offline test bed (issue 6)."""

from __future__ import annotations

import os
import re
import sys
import tarfile
from pathlib import Path

import anyio
import pytest

from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(
    r"<!-- readme-offline-start -->\n```sh\n(?P<commands>.*?)```\n<!-- readme-offline-end -->",
    re.DOTALL,
)


def offline_quick_start() -> str:
    found = BLOCK.search((ROOT / "README.md").read_text())
    assert found, "README.md lost its offline quick start block"
    return found["commands"]


async def test_the_offline_quick_start_runs_as_written(engine: OfflineTestBed) -> None:
    commands = offline_quick_start()
    assert "antrea-ci build" in commands and "antrea-ci test" in commands
    assert "dagger call" in commands
    # As a newcomer's shell after `pip install -e .`: the venv's antrea-ci first on PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = await anyio.run_process(
        ["bash", "-euo", "pipefail", "-c", commands], cwd=ROOT, env=env, check=False
    )
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, f"{stdout}\n{stderr}"
    for exported in ("antrea-agent-ubuntu-linux-arm64.tar", "antrea-agent-arm64.tar"):
        with tarfile.open(ROOT / "out" / exported) as archive:
            assert "index.json" in archive.getnames()
    assert "linux/amd64 (race detector on)" in stdout
    assert (ROOT / "out/junit.xml").read_text().startswith("<?xml")
