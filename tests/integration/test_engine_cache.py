"""The engine's cache survives what users do: a new session, an engine restart (issue 15).

A second engine container of the test bed (so the shared engine's sessions are not cut)
builds the fixture for linux/amd64 with the CLI, then again in a new session, then again
after `docker restart`: the rebuilds must be served from the cache, and the engine must not
wipe its cache index on the restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.inputs import WRAPPER_FIXTURE, antrea_checkout, ovs_tarball
from tests.testbed import OfflineTestBed, run_up, second_engine, up_exports, wait_for_engine

pytestmark = pytest.mark.engine

IMAGE_STAGES = ("ovs", "base", "agent", "controller")
# What the engine logs when it starts without a clean cache index and throws the cache away.
WIPED = ("marked unclean", "local cache state invalid")


def _build(
    env: dict[str, str], checkout: Path, tarball: Path, out: Path, run: str
) -> dict[str, dict[str, object]]:
    """`antrea-ci build` for linux/amd64 in a new session: its stages by name."""
    timings = out / f"timings-{run}.json"
    command = [
        str(Path(sys.executable).parent / "antrea-ci"),
        "build",
        "--source",
        str(checkout),
        "--platform",
        "linux/amd64",
        "--output",
        str(out / run),
        "--ovs-tarball",
        str(tarball),
        "--iptables-wrapper-source",
        str(WRAPPER_FIXTURE),
        "--timings",
        str(timings),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    stages = json.loads(timings.read_text())["stages"]
    print(f"\n{run}: " + ", ".join(f"{s['stage']} {s['seconds']:.1f}s" for s in stages))
    return {stage["stage"]: stage for stage in stages}


def test_rebuilds_hit_the_cache_in_a_new_session_and_after_an_engine_restart(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    checkout, tarball = antrea_checkout(tmp_path), ovs_tarball(tmp_path)
    with second_engine("cache") as (name, up_env):
        up = run_up(up_env)
        assert up.returncode == 0, up.stderr
        env = {**up_env, **up_exports(up.stdout)}
        _build(env, checkout, tarball, tmp_path, "cold")
        warm = _build(env, checkout, tarball, tmp_path, "warm")
        assert {stage: warm[stage]["cache"] for stage in IMAGE_STAGES} == dict.fromkeys(
            IMAGE_STAGES, "likely-hit"
        )
        # As up and down stop it: time for the engine to write its cache index.
        subprocess.run(["docker", "restart", "-t", "300", name], capture_output=True, check=True)
        wait_for_engine(name)
        restarted = _build(env, checkout, tarball, tmp_path, "restarted")
        assert {stage: restarted[stage]["cache"] for stage in IMAGE_STAGES} == dict.fromkeys(
            IMAGE_STAGES, "likely-hit"
        )
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr
        assert not [line for line in logs.splitlines() if any(w in line for w in WIPED)]
