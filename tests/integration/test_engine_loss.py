"""The engine dies mid-build and mid-publish (issue 14): the CLI says so in one line and
exits 1, nothing is pushed, and once the engine is back the same command completes. A
publish needs its engine until its images are handed over (exported); what it pushes after
that is this process's work: an engine lost then does not fail it.

The engine is killed (`docker kill`, no clean stop) while the CLI's build or publish
compiles Go, and while a publish's pushes wait on a registry whose answers a proxy delays.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from ci.core.catalog import IMAGE_NAMES, RELEASED
from tests.support.fault_proxy import FaultProxy, Faults
from tests.support.inputs import ANTREA_CI, antrea_checkout, fixture_options, ovs_tarball
from tests.support.registry_api import exists
from tests.support.testbed import (
    OfflineTestBed,
    compiling,
    engine_container,
    restart_engine,
    running,
)

pytestmark = [pytest.mark.engine, pytest.mark.restarts_engine, pytest.mark.kills_engine]

GONE = "the Dagger engine went away"


def _antrea_ci(command: str, checkout: Path, tarball: Path, *args: str) -> list[str]:
    return [ANTREA_CI, command, *fixture_options(checkout, tarball), "-p", "linux/amd64", *args]


async def _run_and_kill(
    command: list[str], killing_time: float, ready: Callable[[], bool]
) -> subprocess.CompletedProcess[bytes]:
    """Run the command, kill the engine once ready() holds; what the command did."""
    finished: list[subprocess.CompletedProcess[bytes]] = []

    async def run() -> None:
        with anyio.fail_after(killing_time + 300):
            finished.append(await anyio.run_process(command, check=False))

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        deadline = time.monotonic() + killing_time
        while not ready():
            assert not finished, "the command ended before the engine was killed"
            assert time.monotonic() < deadline, "the moment to kill the engine never came"
            await anyio.sleep(0.1)
        subprocess.run(["docker", "kill", engine_container()], capture_output=True, check=True)
    return finished[0]


def _said_the_engine_went_away(result: subprocess.CompletedProcess[bytes]) -> str:
    """The command's stderr, after checking that it exited 1 with one error line saying
    the engine went away."""
    stderr = result.stderr.decode(errors="replace")
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    print(f"\n{result.args[1]} with the engine killed: exit {result.returncode}; {errors}")
    assert result.returncode == 1, stderr
    assert len(errors) == 1 and GONE in errors[0], stderr
    assert "Traceback" not in stderr
    return stderr


def _changed_beyond_any_cache(checkout: Path) -> None:
    """A change no cache has seen, large enough that compiling it takes seconds even when
    Go's cache holds everything else (a comment alone compiled between two polls on a
    warm machine): a build compiles Go whatever the engine kept."""
    nonce = uuid.uuid4().hex
    table = "".join(f'\t"{nonce}-{number}",\n' for number in range(300_000))
    generated = f"package main\n\nvar engineLoss = []string{{\n{table}}}\n"
    (checkout / "cmd/antrea-agent/engine_loss.go").write_text(generated)


def _go_compiles() -> bool:
    """Whether this test's engine compiles Go now (CI runs other tests' builds beside it,
    on the test bed's engine)."""
    return compiling(engine_container())


@pytest.fixture(autouse=True)
def engine_left_running() -> Iterator[None]:
    """Whatever the test did, its engine runs after it: a test that failed between the
    kill and the restart leaves none for the next."""
    yield
    name = engine_container()
    if not running(name):
        restart_engine(name)


async def test_engine_killed_mid_build_then_the_rerun_completes(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    checkout, tarball = antrea_checkout(tmp_path), ovs_tarball(tmp_path)
    _changed_beyond_any_cache(checkout)
    build = _antrea_ci("build", checkout, tarball, "--output", str(tmp_path / "out"))
    _said_the_engine_went_away(await _run_and_kill(build, 600, _go_compiles))

    restart_engine(engine_container())
    started = time.monotonic()
    rerun = subprocess.run(build, capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stderr
    print(f"rerun after the engine came back: {time.monotonic() - started:.1f}s")


async def test_engine_killed_mid_publish_pushes_nothing_and_lost_after_handover_is_harmless(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    checkout, tarball = antrea_checkout(tmp_path), ovs_tarball(tmp_path)
    _changed_beyond_any_cache(checkout)
    namespace = f"engine-loss-{uuid.uuid4().hex[:8]}"
    tags = [f"{namespace}/{IMAGE_NAMES[image]}:v2.7.0-amd64" for image in RELEASED]

    def publish(registry: str) -> list[str]:
        command = _antrea_ci("publish-arch", checkout, tarball, "--namespace", registry)
        return [*command, "--tag", "v2.7.0"]

    # Killed while its build compiles: nothing pushed.
    _said_the_engine_went_away(
        await _run_and_kill(publish(f"{testbed.registry}/{namespace}"), 600, _go_compiles)
    )
    assert not any(exists(f"{testbed.registry}/{tag}") for tag in tags)

    # Killed once the images are handed over (its first registry request, every answer
    # delayed so that its pushes are under way long after): the publish completes.
    restart_engine(engine_container())
    slow = Faults(delay_share=1.0, delay_seconds=1.0)
    async with FaultProxy(testbed.registry, slow, seed=14, max_seconds=900) as proxy:
        rerun = await _run_and_kill(
            publish(f"{proxy.address}/{namespace}"), 1200, lambda: proxy.stats.requests > 0
        )
    stderr = rerun.stderr.decode(errors="replace")
    assert rerun.returncode == 0, stderr
    assert "warning: the Dagger engine went away after the work was done" in stderr, stderr
    assert all(exists(f"{testbed.registry}/{tag}") for tag in tags)
