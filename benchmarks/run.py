"""Benchmarks on the offline test bed: `python -m benchmarks.run [--source DIR] [--runs N]`.

Every figure is the median of several runs and every comparison a ratio of two figures of
the same run of this script. "Cold" means the engine's local cache pruned first.
"""

from __future__ import annotations

import contextlib
import os
import platform as host
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import anyio
import dagger
import typer
from dagger import dag

from benchmarks.figures import Comparison, Figure, markdown_table
from ci.images import golang
from ci.images.agent import AGENT_COMMANDS
from ci.images.controller import CONTROLLER_COMMANDS
from ci.main import Antrea
from ci.platforms import default_platforms, parse_platform
from ci.source import load_source
from tests.inputs import WRAPPER_FIXTURE, antrea_checkout, ovs_tarball
from tests.testbed import OfflineTestBed, require_testbed

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
CHANGED_FILE = "cmd/antrea-agent/main.go"


async def prune() -> None:
    """Empty the engine's local cache (exec results, pulled layers, cache volumes)."""
    await dag.engine().local_cache().prune()


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    started = time.monotonic()
    await step()
    return time.monotonic() - started


class EngineMemory:
    """Peak memory of the engine's container, from its memory cgroup (v1 or v2)."""

    def __init__(self) -> None:
        runner = os.environ.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "")
        name = runner.removeprefix("docker-container://") if runner else self._official()
        container = subprocess.run(
            ["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True
        ).stdout.strip()
        candidates = [
            Path(f"/sys/fs/cgroup/memory/docker/{container}/memory.max_usage_in_bytes"),
            Path(f"/sys/fs/cgroup/system.slice/docker-{container}.scope/memory.peak"),
        ]
        self.counter = next((path for path in candidates if container and path.exists()), None)

    @staticmethod
    def _official() -> str:
        names = subprocess.run(
            ["docker", "ps", "--filter", "name=dagger-engine", "--format", "{{.Names}}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        return names[0] if names else ""

    def reset(self) -> None:
        # cgroup v2 before Linux 6.12 cannot reset: the peak is then since the engine started.
        if self.counter:
            with contextlib.suppress(OSError):
                self.counter.write_text("0")

    def peak_mib(self) -> float | None:
        return int(self.counter.read_text()) / 2**20 if self.counter else None


class Benchmarks:
    """The measurements of issue 7 over one Antrea tree."""

    def __init__(self, testbed: OfflineTestBed, tree: Path, tarball: Path, platform: str) -> None:
        self.testbed = testbed
        self.tree = tree
        self.tarball = tarball
        self.platform = platform
        self.figures: list[Figure] = []
        self.comparisons: list[Comparison] = []

    def figure(self, name: str, unit: str = "s") -> Figure:
        self.figures.append(Figure(name, unit))
        return self.figures[-1]

    def antrea(self, base_registry: str = "") -> Antrea:
        # dagger's @object_type constructor is not visible to mypy.
        antrea = Antrea(  # type: ignore[call-arg]
            source=dag.host().directory(str(self.tree)),
            distro_image=self.testbed.distro_image,
            go_image=self.testbed.go_image,
            ovs_tarball=dag.host().file(str(self.tarball)),
            iptables_wrapper_source=dag.host().directory(str(WRAPPER_FIXTURE)),
        )
        antrea.base_registry = base_registry
        return antrea

    async def build(self, platform: str, base_registry: str = "") -> None:
        images = await self.antrea(base_registry).build_images(platform)
        await images.agent.sync()
        await images.controller.sync()

    async def go_binaries(self, runs: int) -> None:
        """1. Agent and controller binaries for linux/arm64: cross-compiled against emulated."""
        target = parse_platform("linux/arm64")
        source = await load_source(dag.host().directory(str(self.tree)), self.testbed.go_image)
        commands = sorted({*AGENT_COMMANDS, *CONTROLLER_COMMANDS})
        cross = self.figure("arm64 binaries, cross-compiled (cold Go cache)")
        emulated = self.figure("arm64 binaries, in an emulated arm64 Go container (cold)")
        for _ in range(runs):
            for figure, where in ((cross, None), (emulated, target)):
                run = uuid.uuid4().hex[:12]
                builder = golang.go_builder(
                    self.testbed.go_image, where, build_cache=f"antrea-ci-benchmark-{run}"
                ).with_env_variable("ANTREA_CI_BENCHMARK_RUN", run)
                binaries = golang.antrea_binaries(
                    builder, source.directory, target, source.version, source.module_path, commands
                )
                figure.values.append(await timed(binaries.sync))
        self.comparisons.append(Comparison("Go for arm64", emulated, cross))

    async def one_platform(self, runs: int) -> None:
        """2. Full build of one platform: cold, warm, one Go file changed, bases reused."""
        name = self.platform
        cold = self.figure(f"build {name}, cold")
        warm = self.figure(f"build {name}, warm, no change")
        changed = self.figure(f"build {name}, warm, one Go file changed")
        reused = self.figure(f"build {name}, cold but base images from the registry")
        bases = f"{self.testbed.registry}/benchmark-bases-{uuid.uuid4().hex[:8]}"
        for run in range(runs):
            await prune()
            cold.values.append(await timed(lambda: self.build(name)))
            warm.values.append(await timed(lambda: self.build(name)))
            with (self.tree / CHANGED_FILE).open("a") as changed_file:
                changed_file.write(f"\n// benchmark change {run} {uuid.uuid4().hex}\n")
            changed.values.append(await timed(lambda: self.build(name)))
        await self.antrea().publish_base(bases, [name])
        for _ in range(runs):
            await prune()
            reused.values.append(await timed(lambda: self.build(name, bases)))
        self.comparisons += [
            Comparison("warm cache", cold, warm),
            Comparison("one Go file changed", cold, changed),
            Comparison("base images reused", cold, reused),
        ]

    async def three_platforms(self, runs: int) -> None:
        """3. and 4. Three platforms concurrently against one after another; engine memory."""
        platforms = [str(platform) for platform in default_platforms()]
        label = ", ".join(platforms)
        sequential = self.figure(f"build {label}, cold, one after another")
        concurrent = self.figure(f"build {label}, cold, concurrently")
        memory = self.figure("engine peak memory, three platforms concurrently", "MiB")
        engine = EngineMemory()
        for _ in range(runs):
            await prune()
            started = time.monotonic()
            for platform in platforms:
                await self.build(platform)
            sequential.values.append(time.monotonic() - started)

            await prune()
            engine.reset()
            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for platform in platforms:
                    group.start_soon(self.build, platform)
            concurrent.values.append(time.monotonic() - started)
            peak = engine.peak_mib()
            if peak is not None:
                memory.values.append(peak)
        if not memory.values:
            self.figures.remove(memory)
        self.comparisons.append(Comparison("three platforms", sequential, concurrent))


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


def main(
    source: Annotated[
        Path | None, typer.Option(help="An Antrea source tree (default: the test fixture).")
    ] = None,
    platform: Annotated[str, typer.Option(help="Platform of the one-platform builds.")] = (
        "linux/amd64"
    ),
    runs: Annotated[int, typer.Option(help="Runs per figure (the median is kept).")] = 3,
    three_platform_runs: Annotated[
        int, typer.Option(help="Runs of the three-platform builds (the longest).")
    ] = 1,
    write: Annotated[bool, typer.Option(help=f"Write the results to {RESULTS.name}.")] = False,
) -> None:
    """Measure and print the table of issue 7."""
    testbed = require_testbed()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="antrea-ci-benchmark-") as scratch:
        workdir = Path(scratch)
        if source:
            tree = workdir / "antrea"
            shutil.copytree(source, tree, symlinks=True)
        else:
            tree = antrea_checkout(workdir)
        bench = Benchmarks(testbed, tree, ovs_tarball(workdir), str(parse_platform(platform)))

        async def measure() -> None:
            async with dagger.connection(dagger.Config()):
                await bench.go_binaries(runs)
                await bench.one_platform(runs)
                await bench.three_platforms(three_platform_runs)

        anyio.run(measure)
    table = markdown_table(bench.figures, bench.comparisons)
    print(table)
    if write:
        RESULTS.write_text(
            "# Benchmark results\n\n"
            f"Measured {started:%Y-%m-%d} on {machine()}, offline test bed (engine in Docker, "
            f"arm64 and arm/v7 emulated by QEMU user mode), source: "
            f"{source or 'the antrea-mini fixture'}. Runs: {runs} per figure, "
            f"{three_platform_runs} for the three-platform builds.\n\n"
            f"`python -m benchmarks.run --runs {runs} --three-platform-runs "
            f"{three_platform_runs}{f' --source {source}' if source else ''} --write`\n\n"
            f"{table}\n"
        )


if __name__ == "__main__":
    typer.run(main)
