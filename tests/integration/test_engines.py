"""One release across two real engines (issue 31): the test bed's engine and a second one
in a container of its own (tests/engine/up, ANTREA_CI_ENGINE_NAME), linux/arm64 routed to
it with --engine. Both engines run on this amd64 machine, so the second emulates arm64
(--emulated-engines); both take the base images from the registry (publish-base), so the
second does the Go and the gate of arm64, not its OVS.

What two engines build from the same inputs is the same image but for its times (Dagger
0.21.8 writes the time of the build into layers and config); publish pushes it made
reproducible (ci/release/reproducible.py), so a routed release and a one-engine release of
the same inputs have the same digests, per platform and per index. Where they would not,
the images are also compared file by file and config field by field (ci/core/parity.py),
so a failure says what differs.

The command line is the front here: routing needs a process per engine.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import anyio
import pytest

from ci.core.engines import platform_arguments
from ci.core.parity import differences, read_image
from tests.support.inputs import ANTREA_CI, antrea_checkout, fixture_options, ovs_tarball
from tests.support.registry_api import exists, pulled, tag_digest
from tests.support.testbed import (
    SECOND,
    OfflineTestBed,
    compiling,
    second_engine,
    wait_for_engine,
)

pytestmark = pytest.mark.engine

PLATFORMS = ["linux/amd64", "linux/arm64"]
IMAGES = ("antrea-agent-ubuntu", "antrea-controller-ubuntu", "flow-aggregator")
TAG = "v2.7.0"


def namespace(engine: OfflineTestBed, name: str) -> str:
    return f"{engine.registry}/{name}-{uuid.uuid4().hex[:8]}"


class Fixture:
    """The fixture's inputs, the base images in the registry, the second engine."""

    def __init__(self, workdir: Path, engine: OfflineTestBed) -> None:
        checkout = antrea_checkout(workdir)
        self.options = [
            *fixture_options(checkout, ovs_tarball(workdir)),
            *engine.image_options,
        ]
        self.bases = namespace(engine, "bases")
        self.timings = workdir / "timings.json"
        self.second = ""

    def publish(self, target: str, *extra: str) -> list[str]:
        """`antrea-ci publish` of both platforms to target, on the base images."""
        return [
            *[ANTREA_CI, "publish", *self.options, "--base-registry", self.bases],
            *platform_arguments(PLATFORMS),
            *["--namespace", target, "--tag", TAG, "--timings", str(self.timings), *extra],
        ]

    def routed(self, target: str, *extra: str) -> list[str]:
        """The same publish with linux/arm64 on the second engine."""
        route = f"linux/arm64={self.second}"
        return self.publish(target, "--engine", route, "--emulated-engines", *extra)


def namespace_of(stdout: bytes) -> str:
    """The namespace of the multi-arch references publish printed (one line each)."""
    references = stdout.decode().split()
    assert len(references) == len(IMAGES), references
    return references[0].rsplit("/", 1)[0]


def same_release(ours: str, theirs: str, workdir: Path) -> None:
    """Each image of two releases the same: every platform's files, modes, owners and
    config, and every digest (per platform and the index)."""
    for image in IMAGES:
        for platform in PLATFORMS:
            suffix = platform.rsplit("/", 1)[1]
            pair = [f"{namespace}/{image}:{TAG}-{suffix}" for namespace in (ours, theirs)]
            tarballs = [
                pulled(ref, workdir / f"{n}-{image}-{suffix}.tar") for n, ref in enumerate(pair)
            ]
            found = differences(read_image(tarballs[0]), read_image(tarballs[1]))
            assert found == [], f"{image} {platform}: {found[:5]}"
            assert tag_digest(pair[0]) == tag_digest(pair[1]), f"{image} {platform}"
        indexes = [tag_digest(f"{namespace}/{image}:{TAG}") for namespace in (ours, theirs)]
        assert indexes[0] == indexes[1], image


def kill_and_start(name: str) -> None:
    subprocess.run(["docker", "kill", name], check=True, capture_output=True)
    subprocess.run(["docker", "start", name], check=True, capture_output=True)
    wait_for_engine(name)


def nothing_published(target: str) -> bool:
    tags = [TAG, f"{TAG}-amd64", f"{TAG}-arm64"]
    return not any(exists(f"{target}/{image}:{tag}") for image in IMAGES for tag in tags)


@pytest.fixture(scope="module")
async def fixture(engine: OfflineTestBed, tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """The bases pushed and the second engine up, side by side."""
    ready = Fixture(tmp_path_factory.mktemp("engines"), engine)

    async def bases() -> None:
        command = [ANTREA_CI, "publish-base", *ready.options, "--namespace", ready.bases]
        command += platform_arguments(PLATFORMS)
        pushed = await anyio.run_process(command, check=False)
        assert pushed.returncode == 0, pushed.stderr.decode()[-3000:]

    async def engine_two() -> None:
        ready.second = await anyio.to_thread.run_sync(second_engine)

    async with anyio.create_task_group() as group:
        group.start_soon(bases)
        group.start_soon(engine_two)
    return ready


@pytest.fixture(scope="module")
async def one_engine(engine: OfflineTestBed, fixture: Fixture) -> str:
    """The namespace of the same release on the test bed's engine alone."""
    published = await anyio.run_process(fixture.publish(namespace(engine, "one")), check=False)
    assert published.returncode == 0, published.stderr.decode()[-3000:]
    return namespace_of(published.stdout)


async def test_the_second_engine_killed_mid_build_publishes_nothing_and_the_rerun_converges(
    engine: OfflineTestBed, fixture: Fixture, one_engine: str, tmp_path: Path
) -> None:
    target = namespace(engine, "killed")
    # Killed, the engine drops its cache at its next start: the arm64 build is cold.
    kill_and_start(SECOND.name)
    async with await anyio.open_process(fixture.routed(target)) as process:
        with anyio.fail_after(600):
            while not compiling(SECOND.name):
                assert process.returncode is None, "the release ended before the engine died"
                await anyio.sleep(0.5)
        subprocess.run(["docker", "kill", SECOND.name], check=True, capture_output=True)
        assert process.stderr is not None
        said = b"".join([chunk async for chunk in process.stderr]).decode()
        code = await process.wait()
    assert code == 1, said[-3000:]
    assert f"on {fixture.second} failed" in said.splitlines()[-1]
    assert nothing_published(target), "a release whose arm64 engine died published something"

    subprocess.run(["docker", "start", SECOND.name], check=True, capture_output=True)
    wait_for_engine(SECOND.name)
    rerun = await anyio.run_process(fixture.routed(target), check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()[-3000:]
    same_release(namespace_of(rerun.stdout), one_engine, tmp_path)


async def test_a_routed_release_publishes_the_images_one_engine_publishes(
    engine: OfflineTestBed, fixture: Fixture, one_engine: str, tmp_path: Path
) -> None:
    target = namespace(engine, "routed")
    published = await anyio.run_process(fixture.routed(target), check=False)
    stderr = published.stderr.decode()
    assert published.returncode == 0, stderr[-3000:]
    same_release(namespace_of(published.stdout), one_engine, tmp_path)
    # Each platform's images ran (the gate) in the process pointed at its engine.
    assert f"[{fixture.second}] gate: linux/arm64: " in stderr
    assert "[the default engine] gate: linux/amd64: " in stderr
    assert f"[{fixture.second}] gate: linux/amd64" not in stderr


@pytest.mark.parametrize(
    ("route", "says"),
    [
        (
            "linux/arm64=docker-container://antrea-ci-no-such-engine",
            "error: engine docker-container://antrea-ci-no-such-engine for linux/arm64: "
            "unreachable",
        ),
        (
            f"linux/arm64=docker-container://{SECOND.name}",
            f"error: engine docker-container://{SECOND.name} for linux/arm64: reports "
            "linux/amd64, which does not run linux/arm64 natively",
        ),
    ],
)
async def test_an_engine_that_cannot_take_its_platform_is_named_before_any_work(
    engine: OfflineTestBed, fixture: Fixture, route: str, says: str
) -> None:
    target = namespace(engine, "refused")
    refused = await anyio.run_process(fixture.publish(target, "--engine", route), check=False)
    stderr = refused.stderr.decode()
    assert refused.returncode == 1, stderr[-3000:]
    assert says in stderr
    assert "plan done" not in stderr
    assert nothing_published(target)
