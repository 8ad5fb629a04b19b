"""Upstream's route: its docker calls timed by stage, its commands stopped at a limit
(no engine; the substitutions are checked against v2.7.0 in test_upstream_parity)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.inputs import git
from tests.support.testbed import OfflineTestBed
from tests.support.upstream_route import UpstreamRoute, docker_calls, run_group

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


@pytest.mark.host_tools
def test_the_image_tag_is_dirty_after_a_tracked_file_changed(tmp_path: Path) -> None:
    """As upstream's versioning.mk names images: a row that changed a Go file or a pinned
    version builds antrea/NAME:VERSION-SHA.dirty, and that is the image compared."""
    testbed = OfflineTestBed("r", "a", "u", "p", "d", "g")
    route = UpstreamRoute(testbed, tmp_path, tmp_path, tmp_path, tmp_path, tmp_path)
    route.tree.mkdir()
    (route.tree / "VERSION").write_text("v2.7.0\n")
    (route.tree / "main.go").write_text("package main\n")
    git(route.tree, "init", "-q")
    git(route.tree, "add", "-A")
    git(route.tree, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "t")
    sha = git(route.tree, "rev-parse", "--short", "HEAD")
    (route.tree / "untracked").write_text("ignored, as versioning.mk ignores it\n")
    assert route.image_tag("antrea-agent-ubuntu") == f"antrea/antrea-agent-ubuntu:v2.7.0-{sha}"
    (route.tree / "main.go").write_text("package main // changed\n")
    assert route.image_tag("antrea-agent-ubuntu").endswith(f"v2.7.0-{sha}.dirty")
