"""The offline test bed as tests see it: what tests/engine/up announced."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci.core.engines import RUNNER_VARIABLE
from ci.engine.session import parent_of

TESTBED_VARIABLES = (
    "_EXPERIMENTAL_DAGGER_CLI_BIN",
    RUNNER_VARIABLE,
    "ANTREA_CI_REGISTRY",
    "ANTREA_CI_AUTH_REGISTRY",
    "ANTREA_CI_AUTH_REGISTRY_USER",
    "ANTREA_CI_AUTH_REGISTRY_PASSWORD",
    "ANTREA_CI_DISTRO_IMAGE",
    "ANTREA_CI_GO_IMAGE",
)


@dataclass(frozen=True)
class OfflineTestBed:
    """What tests/engine/up announced: registries and seed images."""

    registry: str
    auth_registry: str
    auth_user: str
    auth_password: str
    distro_image: str
    go_image: str

    @property
    def image_options(self) -> list[str]:
        """The options that build from the test bed's seed images instead of Docker Hub's."""
        return ["--distro-image", self.distro_image, "--go-image", self.go_image]


def require_testbed() -> OfflineTestBed:
    """The offline test bed; a test that needs it fails when it is not up."""
    missing = [name for name in TESTBED_VARIABLES if not os.environ.get(name)]
    if missing:
        pytest.fail(
            "the offline test bed is not up (missing " + ", ".join(missing) + "): "
            'run `eval "$(tests/engine/up)"` first',
            pytrace=False,
        )
    env = os.environ
    return OfflineTestBed(
        registry=env["ANTREA_CI_REGISTRY"],
        auth_registry=env["ANTREA_CI_AUTH_REGISTRY"],
        auth_user=env["ANTREA_CI_AUTH_REGISTRY_USER"],
        auth_password=env["ANTREA_CI_AUTH_REGISTRY_PASSWORD"],
        distro_image=env["ANTREA_CI_DISTRO_IMAGE"],
        go_image=env["ANTREA_CI_GO_IMAGE"],
    )


REPO_ROOT = Path(__file__).resolve().parents[2]
UP_SECONDS = 900


def run_up(env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run tests/engine/up (in env, else this process's environment); never raises on failure."""
    return subprocess.run(
        [str(REPO_ROOT / "tests/engine/up")],
        env=env,
        capture_output=True,
        text=True,
        timeout=UP_SECONDS,
        check=False,
    )


def up_exports(stdout: str) -> dict[str, str]:
    """The variables up announced (its stdout is `export NAME=VALUE` lines)."""
    pairs = (line.removeprefix("export ").split("=", 1) for line in stdout.splitlines())
    return dict(pair for pair in pairs if len(pair) == 2)


def wait_for_engine(name: str, seconds: float = 120) -> None:
    """Wait until the engine in container name listens on its socket (as up does)."""
    deadline = time.monotonic() + seconds
    probe = ["docker", "exec", name, "test", "-S", "/run/dagger/engine.sock"]
    while subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not open its socket within {seconds:g}s", pytrace=False)
        time.sleep(1)


def compiling(name: str) -> bool:
    """Whether the engine in container name runs `go build` now (a descendant of the
    container's first process, the engine's own containers included; another engine's
    builds on this host do not count)."""
    inspected = ["docker", "inspect", "-f", "{{.State.Pid}}", name]
    root = int(subprocess.run(inspected, check=True, capture_output=True, text=True).stdout)
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            children.setdefault(parent_of(stat.read_text()), []).append(int(stat.parent.name))
    pending = [root]
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError):
            if b"go\0build" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        pending += children.get(pid, [])
    return False


def running(name: str) -> bool:
    """Whether the container name runs."""
    inspected = ["docker", "inspect", "-f", "{{.State.Running}}", name]
    found = subprocess.run(inspected, capture_output=True, text=True, check=False)
    return found.stdout.strip() == "true"


def engine_container() -> str:
    """The test bed's engine container, as up announced it (docker-container://NAME)."""
    runner = os.environ.get(RUNNER_VARIABLE, "")
    scheme, _, name = runner.partition("://")
    if scheme != "docker-container" or not name:
        pytest.fail(f"the test bed's engine is not a Docker container: {runner!r}", pytrace=False)
    return name


def restart_engine(name: str) -> None:
    """Restart the engine container as up does (a clean stop first), and wait for it."""
    subprocess.run(["docker", "restart", "-t", "300", name], capture_output=True, check=True)
    wait_for_engine(name)


@dataclass(frozen=True)
class EngineBeside:
    """An engine beside the test bed's: its container, and the container network (and
    subnet) of its own that its dnsmasq binds (tests/engine/up, ANTREA_CI_ENGINE_NAME)."""

    name: str
    network: str
    cidr: str

    def up(self) -> subprocess.CompletedProcess[str]:
        """Start it (its own state volume) with tests/engine/up; up's result, never raised."""
        return run_up(
            {
                **os.environ,
                "ANTREA_CI_ENGINE_NAME": self.name,
                "ANTREA_CI_ENGINE_NETWORK": self.network,
                "ANTREA_CI_ENGINE_CIDR": self.cidr,
            }
        )


# The engine test_engines.py routes linux/arm64 to.
SECOND = EngineBeside("antrea-ci-engine-2", "antrea-ci-2", "10.88.0.0/16")
# The engine CI runs the tests that restart or kill the engine on (tests.support.own_engine).
RESTARTED = EngineBeside("antrea-ci-engine-restarts", "antrea-ci-3", "10.89.0.0/16")


def second_engine() -> str:
    """The second engine up beside the test bed's; its runner host."""
    started = SECOND.up()
    if started.returncode != 0:
        pytest.fail(f"the second engine did not start: {started.stderr[-2000:]}", pytrace=False)
    return up_exports(started.stdout)[RUNNER_VARIABLE]
