"""The engine's cache survives what users do: a new session, an engine restart (issue 15).

The CLI builds the fixture for linux/amd64, then again in a new session, then again after
the test bed's engine restarted (as up and down stop it): the rebuilds must be served from
the cache (the engine's own record: no command ran), export no tarball again, and the
engine must not wipe its cache index on the restart. Then one Go file changes: the images
made of the source are exported again, the OVS and base images' tarballs are kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from ci.core.catalog import BASES, IMAGE_NAMES
from ci.core.timings import image_tarball_name
from tests.support.inputs import ANTREA_CI, antrea_checkout, fixture_options, ovs_tarball
from tests.support.testbed import OfflineTestBed, engine_container, restart_engine

pytestmark = [pytest.mark.engine, pytest.mark.restarts_engine]

IMAGE_STAGES = ("ovs", "base", "agent", "controller", "flow_aggregator")
UNCHANGED = "unchanged, not exported again: "
# What the engine logs when it starts without a clean cache index and throws the cache away.
WIPED = ("marked unclean", "local cache state invalid")


def _build(
    env: dict[str, str], checkout: Path, tarball: Path, out: Path, run: str
) -> dict[str, dict[str, Any]]:
    """`antrea-ci build` for linux/amd64 in a new session, into out/tarballs: its stages
    by name, and under "kept" the tarballs it said needed no export."""
    timings = out / f"timings-{run}.json"
    command = [
        *[ANTREA_CI, "build", *fixture_options(checkout, tarball), "-p", "linux/amd64"],
        *["--output", str(out / "tarballs"), "--timings", str(timings)],
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    recorded = json.loads(timings.read_text())
    stages = recorded["stages"]
    print(f"\n{run}: " + ", ".join(f"{s['stage']} {s['seconds']:.1f}s" for s in stages))
    print(f"{run}: the engine's record: {recorded['engine']}")
    found = {stage["stage"]: stage for stage in stages}
    found["engine"] = recorded["engine"]
    said = [line for line in result.stderr.splitlines() if line.startswith(UNCHANGED)]
    found["kept"] = {
        "tarballs": sorted(said[0].removeprefix(UNCHANGED).split(", ") if said else [])
    }
    return found


def test_rebuilds_hit_the_cache_in_a_new_session_and_after_an_engine_restart(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    checkout, tarball = antrea_checkout(tmp_path), ovs_tarball(tmp_path)
    name = engine_container()
    env = dict(os.environ)
    _build(env, checkout, tarball, tmp_path, "first")
    warm = _build(env, checkout, tarball, tmp_path, "warm")
    # The engine's own record of the new session: it ran no command, its cache served them.
    assert warm["engine"]["ran"] == 0 and warm["engine"]["cached"] > 0, warm["engine"]
    # The tarballs of the first build hold the same images: none is exported again.
    assert warm["kept"]["tarballs"] == sorted(
        path.name for path in (tmp_path / "tarballs").glob("*.tar")
    )
    assert len(warm["kept"]["tarballs"]) == len(IMAGE_STAGES)
    restarted_at = time.time()
    restart_engine(name)
    restarted = _build(env, checkout, tarball, tmp_path, "restarted")
    assert restarted["engine"]["ran"] == 0, restarted["engine"]
    assert restarted["kept"] == warm["kept"]
    since = ["docker", "logs", "--since", str(int(restarted_at)), name]
    logs = subprocess.run(since, capture_output=True, text=True, check=True).stderr
    assert not [line for line in logs.splitlines() if any(w in line for w in WIPED)]
    with (checkout / "cmd/antrea-agent/main.go").open("a") as main_go:
        main_go.write("\n// a change after the restart\n")
    changed = _build(env, checkout, tarball, tmp_path, "changed")
    # The same record sees the commands a change makes the engine run.
    assert changed["engine"]["ran"] > 0, changed["engine"]
    assert changed["kept"]["tarballs"] == sorted(
        image_tarball_name(IMAGE_NAMES[name], "linux/amd64") for name in BASES
    )
