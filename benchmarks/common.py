"""What every benchmark section shares: the bench (tree, figures, comparisons, notes), the
engine's cache pruned, steps timed in a session of their own, host commands."""

from __future__ import annotations

import os
import platform as host
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from dagger import dag

from benchmarks.figures import Comparison, Figure
from benchmarks.memory import EngineMemory
from ci.cache.volumes import MODULE_VOLUME, GoCacheVolumes
from ci.core.catalog import RELEASED
from ci.core.platforms import Platform, default_platforms, parse_platform
from ci.core.versions import pins
from ci.engine.session import engine_connection
from ci.images.builder import ImageBuilder
from ci.images.source import AntreaSource, check_tree, load_source
from tests.support.inputs import WRAPPER_FIXTURE, fixture_inputs
from tests.support.registry_api import manifest, split_reference
from tests.support.testbed import OfflineTestBed

# A Go file of pkg/ every command imports: a change to it rebuilds and relinks them all.
CHANGED_FILE = "pkg/version/version.go"
# The images the go, build and platforms sections build (their figures since issue 7).
AGENT_CONTROLLER = ("agent", "controller")
GO_TOOLCHAIN = Path(__file__).resolve().parents[1] / "tests" / "engine" / "go-toolchain"


def own_build_cache(name: str) -> GoCacheVolumes:
    """Go's shared module cache and a build cache of the given name, nobody else's."""
    return GoCacheVolumes(dag.cache_volume(MODULE_VOLUME), dag.cache_volume(name))


def code_change(text: str) -> str:
    """The Go file's text with one more unexported package variable, of a new name and value:
    its package compiles to other code and every command relinks, as after a change to a
    function's body. (A comment alone changes no compiled output: Go then relinks nothing,
    and a build that copies /out afresh is held to one that did no work.)"""
    tag = uuid.uuid4().hex
    return f'{text}\nvar benchmarkChange{tag} = "{tag}"\n'


async def prune() -> None:
    """Empty the engine's local cache (exec results, pulled layers, cache volumes)."""
    async with engine_connection():
        await dag.engine().local_cache().prune()


async def within(figure: Figure, seconds: float, step: Callable[[], Awaitable[object]]) -> None:
    """The step, stopped after the seconds (0: never); a stopped run is marked in the
    figure as a lower bound (the run about to be added)."""
    with anyio.move_on_after(seconds or None) as scope:
        await step()
    if scope.cancelled_caught:
        figure.stopped.add(len(figure.values))
        print(f"{figure.name}: stopped after {seconds:.0f} s", file=sys.stderr, flush=True)


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    """Seconds a step takes in a new engine session (the connection itself not counted)."""
    async with engine_connection():
        started = time.monotonic()
        await step()
        return time.monotonic() - started


async def run_process_group(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run a command that must succeed; cancelled, it is killed with every process it
    started (go build's compilers)."""
    process = await anyio.open_process(
        command, cwd=cwd, env=env, stdout=None, stderr=None, start_new_session=True
    )
    try:
        code = await process.wait()
    except BaseException:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with anyio.CancelScope(shield=True):
            await process.wait()
        raise
    if code:
        raise subprocess.CalledProcessError(code, command)


def run_timed(command: list[str]) -> float:
    """Seconds a command takes, as a user waits for it; it must succeed."""
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def go_toolchain(platform: Platform, dest: Path) -> Path:
    """The go command of the pinned Go for the platform, from the Go module proxy as the
    test bed's seed images get it."""
    command = [str(GO_TOOLCHAIN), pins().go, platform.facts.goarch, str(dest)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return dest / "usr" / "local" / "go" / "bin" / "go"


def pushed_size(reference: str) -> int:
    """Bytes of an image's config and layers in its registry (its first manifest if an
    index)."""
    document = manifest(reference)
    if "manifests" in document:
        registry, repository, _ = split_reference(reference)
        document = manifest(f"{registry}/{repository}@{document['manifests'][0]['digest']}")
    return int(document["config"]["size"]) + sum(int(layer["size"]) for layer in document["layers"])


def machine() -> str:
    """The machine the figures come from."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        host.machine(),
    )
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kib / 2**20:.0f} GiB, "
        f"{host.system()} {host.release()} {host.machine()}"
    )


@dataclass
class Bench:
    """One Antrea tree and OVS tarball measured on the test bed, and what was measured."""

    testbed: OfflineTestBed
    tree: Path
    tarball: Path
    platform: str
    # The kubernetes-sigs/iptables-wrappers source the base image builds.
    wrapper_source: Path = WRAPPER_FIXTURE
    memory: EngineMemory = field(default_factory=EngineMemory)
    figures: list[Figure] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    # What a run showed beside its figures, one line each.
    notes: list[str] = field(default_factory=list)

    def figure(self, name: str, unit: str = "s") -> Figure:
        self.figures.append(Figure(name, unit))
        return self.figures[-1]

    @staticmethod
    def add(figure: Figure, value: float) -> None:
        """Keep a run's value and say it (a long benchmark shows its progress)."""
        figure.values.append(value)
        print(f"{figure.name}: {value:.1f} {figure.unit}", file=sys.stderr, flush=True)

    def builder(self, base_registry: str = "") -> ImageBuilder:
        """The image builder over this tree and tarball (once connected)."""
        inputs = fixture_inputs(
            self.testbed, self.tree, self.tarball, base_registry, self.wrapper_source
        )
        return ImageBuilder(inputs)

    async def source(self) -> AntreaSource:
        """The tree as the pipeline reads it (its version from the Go image's git)."""
        tree = dag.host().directory(str(self.tree))
        return await load_source(await check_tree(tree), self.testbed.go_image)

    async def build(
        self, platform: str, base_registry: str = "", images: tuple[str, ...] = AGENT_CONTROLLER
    ) -> None:
        """Build one platform's images, those named (fields of Images) synced."""
        built = await self.builder(base_registry).build(parse_platform(platform))
        for image in images:
            await getattr(built, image).sync()

    async def build_all(self, platform: str, base_registry: str = "") -> None:
        """Every image a release publishes (OVS and base with them)."""
        await self.build(platform, base_registry, RELEASED)

    @property
    def all_platforms(self) -> str:
        return ", ".join(str(platform) for platform in default_platforms())

    async def concurrently(self) -> None:
        """Every configured platform's images, built at once."""
        async with anyio.create_task_group() as group:
            for platform in default_platforms():
                group.start_soon(self.build, str(platform))
