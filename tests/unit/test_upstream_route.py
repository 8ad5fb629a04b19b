"""Upstream's route: its substitutions against v2.7.0's own files, and its docker calls
timed by stage (no engine)."""

from __future__ import annotations

import os
import tarfile
import time
from pathlib import Path

import pytest

from tests.support.inputs import REAL_ANTREA_TARBALL
from tests.support.upstream_route import docker_calls, run_group
from tests.support.upstream_substitutions import SubstitutionError, apply, listed, substitutions

FILES = "http://172.17.0.1:8089"


def upstream_build_files(destination: Path) -> Path:
    """build/images of the v2.7.0 tree in ../shared/offline, unpacked alone."""
    with tarfile.open(REAL_ANTREA_TARBALL) as archive:
        members = [m for m in archive.getmembers() if "/build/images/" in m.name]
        archive.extractall(destination, members=members, filter="tar")
    (tree,) = destination.iterdir()
    return tree


def test_every_substitution_matches_v2_7_0_once_and_a_second_pass_is_refused(
    tmp_path: Path,
) -> None:
    tree = upstream_build_files(tmp_path)
    made = apply(tree, FILES)
    assert len(made) == len(substitutions(FILES))
    ovs = (tree / "build/images/ovs/Dockerfile").read_text()
    assert f"{FILES}/openvswitch-$OVS_VERSION.tar.gz" in ovs and "openvswitch.org" not in ovs
    base = (tree / "build/images/base/Dockerfile").read_text()
    assert "github.com" not in base and "ppa:" not in base
    assert "--build-context" not in (tree / "build/images/base/build.sh").read_text()
    table = listed(made)
    assert table.count("\n") == len(made) + 1 and "`build/images/base/build.sh`" in table
    with pytest.raises(SubstitutionError, match=r"build/images/ovs/Dockerfile: .* 0 times"):
        apply(tree, FILES)


CALLS = """\
100.0 101.5 buildx inspect
101.5 102.0 buildx build --platform linux/amd64 -t antrea-test-arch --load -
102.0 290.0 buildx build -o type=docker -t antrea/openvswitch-amd64:antrea-v2.7 -f Dockerfile .
290.0 350.5 buildx build -o type=docker -t antrea/base-ubuntu-amd64:antrea-v2.7 -f Dockerfile .
350.5 351.0 tag antrea/antrea-agent-ubuntu:v2.7.0-abc antrea/antrea-agent-ubuntu
351.0 400.0 build -t antrea/antrea-agent-ubuntu:v2.7.0-abc -f build/images/Dockerfile.agent .
"""


def test_each_build_upstream_ran_is_timed_under_the_stage_doing_the_same_work() -> None:
    calls = docker_calls(CALLS)
    assert [call.stage for call in calls] == ["", "", "ovs", "base", "", "agent"]
    assert calls[2].end - calls[2].start == 188.0


def test_a_route_command_past_its_limit_is_killed_with_its_children(tmp_path: Path) -> None:
    log = (tmp_path / "log").open("w")
    child = tmp_path / "child-still-ran"
    script = f"(sleep 2; touch {child}) & sleep 30"
    assert run_group(["sh", "-c", script], tmp_path, dict(os.environ), log, 0.5) is None
    assert run_group(["true"], tmp_path, dict(os.environ), log, 5) == 0
    time.sleep(2.5)
    assert not child.exists()
