"""Benchmarks on the offline test bed: `python -m benchmarks.run [--source DIR] [--runs N]`.

Every figure is the median of several runs and every comparison a ratio of two figures of
the same run of this script. Each measured step runs in its own engine session, as a new
`antrea-ci` run would (a session keeps what it computed); "cold" means the engine's local
cache pruned, from another session, just before.
"""

from __future__ import annotations

import os
import platform as host
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import anyio
import dagger
import typer
from dagger import dag

from benchmarks.figures import Comparison, Figure, markdown_table
from ci.core.catalog import IMAGE_NAMES, RELEASED
from ci.core.platforms import Platform, default_platforms, parse_platform
from ci.core.versions import pins
from ci.engine.session import engine_connection
from ci.images import golang
from ci.images.builder import ANTREA_COMMANDS
from ci.images.source import UPLOAD_EXCLUDES, check_tree, load_source
from ci.main import Antrea
from ci.testing import containers as unit_tests_recipe
from tests.support.disk_usage import disk_usage
from tests.support.fault_campaign import FLOWS, MIXES, Campaign, CampaignRun, summary
from tests.support.inputs import (
    ANTREA_CI,
    antrea_checkout,
    fixture_antrea,
    fixture_options,
    ovs_tarball,
)
from tests.support.registry_api import manifest, split_reference
from tests.support.testbed import OfflineTestBed, require_testbed, restart_engine

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
# A Go file of pkg/ every command imports: a change to it rebuilds and relinks them all.
CHANGED_FILE = "pkg/version/version.go"
TEST_PACKAGES = ["./pkg/util/..."]
# The images the go, build and platforms sections build (their figures since issue 7).
AGENT_CONTROLLER = ("agent", "controller")
# Section 1's figures, which section 11 compares with the same build on the host.
ENGINE_CROSS = "arm64 binaries, cross-compiled (cold Go cache)"
ENGINE_EMULATED = "arm64 binaries, in an emulated arm64 Go container (cold)"


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


class EngineMemory:
    """Memory of the engine's container and of the build containers it runs, from their
    memory cgroups (v1: the engine runs its containers in the `buildkit` cgroup): the peaks
    the kernel keeps (page cache included), resident memory sampled (anonymous and shared:
    what no reclaim frees without swap) and caps."""

    def __init__(self) -> None:
        runner = os.environ.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "")
        name = runner.removeprefix("docker-container://")
        container = subprocess.run(
            ["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True
        ).stdout.strip()
        v1 = Path("/sys/fs/cgroup/memory")
        groups = {"engine": v1 / "docker" / container, "build containers": v1 / "buildkit"}
        self.groups = {name: path for name, path in groups.items() if path.is_dir()}
        self.container_name = name
        if container == "" or "engine" not in self.groups:
            raise SystemExit(
                "benchmark: cannot read the engine's memory cgroup (v1) for "
                f"{runner!r}: run it on the offline test bed"
            )

    def reset(self) -> None:
        for group in self.groups.values():
            (group / "memory.max_usage_in_bytes").write_text("0")

    def peaks_mib(self) -> dict[str, float]:
        return {
            name: int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
            for name, group in self.groups.items()
        }

    def resident_mib(self) -> float:
        """Anonymous and shared memory of the engine and its containers together, now."""
        total = 0
        for group in self.groups.values():
            lines = (group / "memory.stat").read_text().splitlines()
            stats = dict(line.split() for line in lines)
            total += int(stats["total_rss"]) + int(stats.get("total_shmem", 0))
        return total / 2**20

    async def with_peak_resident(self, step: Callable[[], Awaitable[float]]) -> tuple[float, float]:
        """The step's result, and the peak of resident_mib sampled twice a second meanwhile."""
        result, peak = 0.0, 0.0

        async def run() -> None:
            nonlocal result
            result = await step()
            group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            while True:
                peak = max(peak, self.resident_mib())
                await anyio.sleep(0.5)
        return result, peak

    def oom_kills(self) -> int:
        """Processes the kernel killed for want of memory in these groups, so far."""
        kills = 0
        for group in self.groups.values():
            for line in (group / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                kills += int(value) if key == "oom_kill" else 0
        return kills

    @contextmanager
    def capped(self, caps: dict[str, float]) -> Iterator[None]:
        """Each named group limited to its cap (GiB) inside the block, unlimited after."""
        try:
            for name, gib in caps.items():
                (self.groups[name] / "memory.limit_in_bytes").write_text(str(int(gib * 2**30)))
            yield
        finally:
            for name in caps:
                (self.groups[name] / "memory.limit_in_bytes").write_text("-1")


class Benchmarks:
    """The measurements of issue 7 over one Antrea tree."""

    def __init__(self, testbed: OfflineTestBed, tree: Path, tarball: Path, platform: str) -> None:
        self.memory = EngineMemory()
        self.testbed = testbed
        self.tree = tree
        self.tarball = tarball
        self.platform = platform
        self.figures: list[Figure] = []
        self.comparisons: list[Comparison] = []
        # What a run showed beside its figures, one line each.
        self.notes: list[str] = []

    def figure(self, name: str, unit: str = "s") -> Figure:
        self.figures.append(Figure(name, unit))
        return self.figures[-1]

    @staticmethod
    def add(figure: Figure, value: float) -> None:
        """Keep a run's value and say it (a long benchmark shows its progress)."""
        figure.values.append(value)
        print(f"{figure.name}: {value:.1f} {figure.unit}", file=sys.stderr, flush=True)

    def antrea(self, base_registry: str = "") -> Antrea:
        antrea = fixture_antrea(self.testbed, self.tree, self.tarball)
        antrea.base_registry = base_registry
        return antrea

    async def build(
        self, platform: str, base_registry: str = "", images: tuple[str, ...] = AGENT_CONTROLLER
    ) -> None:
        """Build one platform's images, those named (fields of Images) synced."""
        built = await self.antrea(base_registry).build_images(platform)
        for image in images:
            await getattr(built, image).sync()

    async def build_all(self, platform: str, base_registry: str = "") -> None:
        """Every image a release publishes (OVS and base with them)."""
        await self.build(platform, base_registry, RELEASED)

    async def go_binaries(self, runs: int, limit: float = 0) -> None:
        """1. Agent and controller binaries for linux/arm64: cross-compiled against emulated.
        With a limit, each emulated compile is stopped at LIMIT times its run's cross-compile
        (the figure is then a lower bound, marked so)."""
        target = parse_platform("linux/arm64")
        cross = self.figure(ENGINE_CROSS)
        emulated = self.figure(ENGINE_EMULATED)

        async def compile_on(where: Platform | None, modules_only: bool = False) -> None:
            # A build cache of its own and a variable no other run has: nothing is reused
            # but the Go module cache, the same for both.
            run = uuid.uuid4().hex[:12]
            builder = golang.go_builder(
                self.testbed.go_image, where, build_cache=f"antrea-ci-benchmark-{run}"
            ).with_env_variable("ANTREA_CI_BENCHMARK_RUN", run)
            tree = dag.host().directory(str(self.tree))
            source = await load_source(await check_tree(tree), self.testbed.go_image)
            if modules_only:
                await (
                    builder.with_mounted_directory(golang.SOURCE_DIR, source.directory)
                    .with_workdir(golang.SOURCE_DIR)
                    .with_exec(["go", "mod", "download"])
                    .sync()
                )
                return
            binaries = golang.antrea_binaries(
                builder,
                source.directory,
                target,
                source.version,
                source.module_path,
                ANTREA_COMMANDS,
            )
            await binaries.sync()

        # Both sides find the tree's modules downloaded: the figures compare compiling.
        await timed(lambda: compile_on(None, modules_only=True))
        for _ in range(runs):
            self.add(cross, await timed(lambda: compile_on(None)))
            self.add(
                emulated,
                await timed(
                    lambda: within(emulated, limit * cross.values[-1], partial(compile_on, target))
                ),
            )
        self.comparisons.append(Comparison("Go for arm64", emulated, cross))

    async def qemu_reference(self, runs: int, limit: float = 0) -> None:
        """11. What QEMU user mode itself costs section 1's Go build, no engine involved: the
        same `go build` of the same commands for linux/arm64 on the host, by Go for the
        host's platform and by Go for linux/arm64 run by QEMU (the binfmt handler the test
        bed registered), each with a build cache of its own. With section 1 in the same run:
        what the engine adds to each side."""
        target = parse_platform("linux/arm64")
        cross = self.figure("arm64 binaries, cross-compiled on the host, no engine (cold)")
        emulated = self.figure("arm64 binaries, arm64 Go under QEMU on the host, no engine (cold)")
        async with engine_connection():
            tree = dag.host().directory(str(self.tree))
            source = await load_source(await check_tree(tree), self.testbed.go_image)
        flags = ["-trimpath", "-ldflags", source.version.ldflags(source.module_path)]
        packages = [f"./cmd/{name}" for name in ANTREA_COMMANDS]
        with tempfile.TemporaryDirectory(prefix="antrea-ci-qemu-") as scratch:
            work = Path(scratch)
            native_go = go_toolchain(parse_platform(host.machine()), work / "native")
            target_go = go_toolchain(target, work / "target")

            def go_env(cache: Path) -> dict[str, str]:
                # No VCS stamp: the engine never sees the tree's .git either.
                return {
                    **os.environ,
                    **target.go_env,
                    "GOTOOLCHAIN": "local",
                    "CGO_ENABLED": "0",
                    "GOFLAGS": "-buildvcs=false",
                    "GOMODCACHE": str(work / "modules"),
                    "GOCACHE": str(cache),
                }

            # Both sides find the tree's modules downloaded: the figures compare compiling.
            download = [str(native_go), "mod", "download"]
            subprocess.run(download, cwd=self.tree, env=go_env(work / "cache"), check=True)
            for run in range(runs):
                for figure, go, name in (
                    (cross, native_go, "cross"),
                    (emulated, target_go, "qemu"),
                ):
                    out = work / f"{name}-{run}"
                    command = [str(go), "build", *flags, "-o", f"{out}/", *packages]
                    limited = limit * cross.values[-1] if figure is emulated else 0
                    started = time.monotonic()
                    await within(
                        figure,
                        limited,
                        partial(run_process_group, command, self.tree, go_env(out / "cache")),
                    )
                    self.add(figure, time.monotonic() - started)
        self.comparisons.append(Comparison("QEMU's own cost for Go (no engine)", emulated, cross))
        in_engine = {figure.name: figure for figure in self.figures}
        for engine_name, on_host in ((ENGINE_CROSS, cross), (ENGINE_EMULATED, emulated)):
            if engine_name in in_engine:
                self.comparisons.append(
                    Comparison("what the engine adds", in_engine[engine_name], on_host)
                )

    async def one_platform(self, runs: int) -> None:
        """2. Full build of one platform: cold, warm, one Go file changed, bases reused."""
        name = self.platform
        cold = self.figure(f"build {name}, cold")
        warm = self.figure(f"build {name}, warm, no change")
        changed = self.figure(f"build {name}, warm, one Go file changed")
        bare = self.figure(
            f"bare go build of the {len(ANTREA_COMMANDS)} commands for {name} on the engine's "
            "platform, warm, one Go file changed"
        )
        reused = self.figure(f"build {name}, cold but base images from the registry")
        bases = f"{self.testbed.registry}/benchmark-bases-{uuid.uuid4().hex[:8]}"
        for run in range(runs):
            await prune()
            self.add(cold, await timed(lambda: self.build(name)))
            if run == 0:
                async with engine_connection():
                    self.notes.append(await self.antctl_version(name))
            self.add(warm, await timed(lambda: self.build(name)))
            changed_file = self.tree / CHANGED_FILE
            changed_file.write_text(code_change(changed_file.read_text()))
            self.add(changed, await timed(lambda: self.build(name)))
            async with engine_connection():
                self.add(bare, await self.bare_incremental_go_build(parse_platform(name)))
        await timed(lambda: self.antrea().publish_base(bases, [name]))
        for _ in range(runs):
            await prune()
            self.add(reused, await timed(lambda: self.build(name, bases)))
        self.comparisons += [
            Comparison("warm cache", cold, warm),
            Comparison("one Go file changed", cold, changed),
            Comparison("one Go file changed, against a bare go build", changed, bare),
            Comparison("base images reused", cold, reused),
        ]

    async def antctl_version(self, platform: str) -> str:
        """What `antctl version` prints first in the platform's agent image, which must be the
        tree's version (Antrea's own way: v2.7.0-unknown for a tree without .git). Out of a
        cluster Antrea's antctl then fails to ask the controller for its version: the exit
        code and that error are said too."""
        images = await self.antrea().build_images(platform)
        ran = images.agent.with_exec(["antctl", "version"], expect=dagger.ReturnType.ANY)
        printed = next(iter((await ran.stdout()).strip().splitlines()), "")
        if printed != f"antctlVersion: {images.version}":
            raise SystemExit(f"benchmark: antctl version printed {printed!r}, not {images.version}")
        error = (await ran.stderr()).strip().splitlines()
        return (
            f"`antctl version` in the {platform} agent image: `{printed}` (exit "
            f"{await ran.exit_code()}: `{error[0] if error else ''}`)"
        )

    async def bare_incremental_go_build(self, target: Platform) -> float:
        """Seconds `go build` of the images' commands for the target takes by itself, timed
        inside a Go container of the engine's platform whose build cache holds the tree as
        it is, once one Go file changed: what the pipeline's incremental build is held to."""
        tree = dag.host().directory(str(self.tree))
        source = await load_source(await check_tree(tree), self.testbed.go_image)
        text = (self.tree / CHANGED_FILE).read_text()
        changed = source.directory.with_new_file(CHANGED_FILE, code_change(text))
        packages = " ".join(f"./cmd/{command}" for command in ANTREA_COMMANDS)
        build = f'go build -trimpath -ldflags "$LDFLAGS" -o /out/ {packages}'
        builder = golang.cross_compiling(
            golang.go_builder(
                self.testbed.go_image, build_cache=f"antrea-ci-benchmark-bare-{uuid.uuid4().hex}"
            ),
            target,
        ).with_env_variable("LDFLAGS", source.version.ldflags(source.module_path))
        warmed = (
            builder.with_mounted_directory(golang.SOURCE_DIR, source.directory)
            .with_workdir(golang.SOURCE_DIR)
            .with_exec(["sh", "-ec", build])
        )
        stamps = await (
            warmed.with_mounted_directory(golang.SOURCE_DIR, changed)
            .with_exec(["sh", "-ec", f"date +%s.%N; {build}; date +%s.%N"])
            .stdout()
        )
        started, ended = (float(stamp) for stamp in stamps.split())
        return ended - started

    async def three_platforms(self, runs: int, one_after_another_too: bool = True) -> Figure:
        """3. and 4. Three platforms concurrently against one after another; engine memory:
        the cgroups' peaks and the resident peak sampled. Without one_after_another_too, only
        the concurrent build and its memory (the memory section: on a real tree the
        sequential build alone takes most of an hour). Returns the concurrent build's figure."""
        sequential = (
            self.figure(f"build {self.all_platforms}, cold, one after another")
            if one_after_another_too
            else None
        )
        concurrent = self.figure(f"build {self.all_platforms}, cold, concurrently")
        memory = {
            name: self.figure(f"peak memory of the {name}, three platforms concurrently", "MiB")
            for name in self.memory.groups
        }
        resident = self.figure(
            "peak resident memory (anonymous and shared) of the engine and build containers "
            "together, three platforms concurrently",
            "MiB",
        )

        async def one_after_another() -> None:
            for platform in default_platforms():
                await self.build(str(platform))

        for _ in range(runs):
            if sequential:
                await prune()
                self.add(sequential, await timed(one_after_another))
            await prune()
            self.memory.reset()
            took, peak = await self.memory.with_peak_resident(partial(timed, self.concurrently))
            self.add(concurrent, took)
            self.add(resident, peak)
            for name, usage in self.memory.peaks_mib().items():
                self.add(memory[name], usage)
        if sequential:
            self.comparisons.append(Comparison("three platforms", sequential, concurrent))
        return concurrent

    async def capped_memory(self, runs: int, caps: dict[str, float], uncapped: Figure) -> None:
        """4. The three platforms' concurrent cold build with each memory cgroup capped (GiB):
        its time against the uncapped build's, and the processes the kernel killed for want
        of memory. A build that fails within the caps (a compiler killed) is said in a note,
        its time left out."""
        within = ", ".join(f"{name} {gib:g} GiB" for name, gib in caps.items())
        capped = Figure(f"build {self.all_platforms}, cold, concurrently, capped ({within})")
        killed = self.figure(f"killed for want of memory, capped ({within})", "processes")
        for _ in range(runs):
            await prune()
            kills = self.memory.oom_kills()
            try:
                with self.memory.capped(caps):
                    self.add(capped, await timed(self.concurrently))
            except dagger.QueryError as error:
                self.notes.append(f"the build capped ({within}) failed: {error}".splitlines()[0])
            self.add(killed, self.memory.oom_kills() - kills)
        if capped.values:
            self.figures.insert(self.figures.index(killed), capped)
            self.comparisons.append(Comparison("memory capped", capped, uncapped))

    @property
    def all_platforms(self) -> str:
        return ", ".join(str(platform) for platform in default_platforms())

    async def concurrently(self) -> None:
        """Every configured platform's images, built at once."""
        async with anyio.create_task_group() as group:
            for platform in default_platforms():
                group.start_soon(self.build, str(platform))

    async def unit_tests(self, runs: int, limit: float = 0) -> None:
        """5. Unit tests of a fixed package set on each platform, cold; on linux/arm64 the
        test binaries compiled natively (as `test` does) against compiled under emulation
        (with a limit, stopped at LIMIT times the natively compiled run: a lower bound)."""
        packages = " ".join(TEST_PACKAGES)
        arm64 = parse_platform("linux/arm64")
        per_platform = {
            str(platform): self.figure(f"unit tests {packages} on {platform}, cold")
            for platform in default_platforms()
        }
        emulated_compile = self.figure(
            f"unit tests {packages} on {arm64}, cold, compiled under emulation"
        )

        async def as_test_does(platform: str) -> None:
            outcome = await self.antrea().unit_test_outcome(platform, TEST_PACKAGES)
            print(f"{platform} (compiled on {outcome.compiled_on}): {outcome.summary}")

        async def compiled_in_target() -> None:
            tree = dag.host().directory(str(self.tree))
            source = await load_source(await check_tree(tree), self.testbed.go_image)
            command = unit_tests_recipe.go_test_command(TEST_PACKAGES, race=False)
            ran = unit_tests_recipe.run_unit_tests(
                arm64, self.testbed.go_image, source.directory, command
            )
            print(f"{arm64} (compiled there): go test exited {await ran.exit_code()}")

        # The comparison first (arm64 as `test` does it, then compiled under emulation): the
        # emulated compile is by far the longest figure.
        order = sorted(per_platform, key=lambda platform: platform != str(arm64))
        for _ in range(runs):
            await prune()
            self.add(per_platform[order[0]], await timed(partial(as_test_does, order[0])))
            await prune()
            stop_after = limit * per_platform[order[0]].values[-1]
            self.add(
                emulated_compile,
                await timed(partial(within, emulated_compile, stop_after, compiled_in_target)),
            )
            for platform in order[1:]:
                await prune()
                self.add(per_platform[platform], await timed(partial(as_test_does, platform)))
        self.comparisons.append(
            Comparison("unit tests compiled natively", emulated_compile, per_platform[str(arm64)])
        )

    async def upload(self, runs: int) -> None:
        """6. The source tree handed to the engine: whole, and without what no stage reads."""
        whole = self.figure("upload of the source tree, whole, cold")
        trimmed = self.figure("upload of the source tree, without what no stage reads, cold")

        async def upload(exclude: list[str]) -> None:
            await dag.host().directory(str(self.tree), exclude=exclude).sync()

        for _ in range(runs):
            await prune()
            self.add(whole, await timed(partial(upload, [])))
            await prune()
            self.add(trimmed, await timed(partial(upload, UPLOAD_EXCLUDES)))
        self.comparisons.append(Comparison("upload trimmed", whole, trimmed))

    async def cli_cache(self, runs: int) -> None:
        """9. The cache as users meet it: `antrea-ci build --output DIR` of one platform, cold,
        then again with nothing changed in a new session, then again after an engine restart
        (the export of unchanged tarballs skipped)."""
        name = self.platform
        cold = self.figure(f"antrea-ci build {name} --output, cold")
        again = self.figure(f"antrea-ci build {name} --output, again, nothing changed")
        restarted = self.figure(f"antrea-ci build {name} --output, again after an engine restart")
        engine = self.memory.container_name
        for run in range(runs):
            output = self.tree.parent / f"cache-{run}"
            command = [
                *[ANTREA_CI, "build", *fixture_options(self.tree, self.tarball)],
                *["--platform", name, "--output", str(output)],
            ]
            await prune()
            self.add(cold, run_timed(command))
            self.add(again, run_timed(command))
            restart_engine(engine)
            self.add(restarted, run_timed(command))
        self.comparisons += [
            Comparison("nothing changed", cold, again),
            Comparison("nothing changed, engine restarted", cold, restarted),
        ]

    async def module_front(self, runs: int) -> None:
        """10. What the module front costs: loading the module (`dagger functions`) after a
        prune and again; `dagger call` building what antrea-ci built just before (the two
        fronts share the engine's cache) against antrea-ci's cold build; a warm build
        through `dagger call` (the agent exported) against the same warm build through
        antrea-ci (every image, unchanged tarballs kept)."""
        cli = os.environ["_EXPERIMENTAL_DAGGER_CLI_BIN"]
        module = ["-m", str(Path(__file__).resolve().parents[1])]
        name = self.platform
        first = self.figure("dagger functions, the module loaded after a prune")
        again = self.figure("dagger functions, the module loaded again")
        cold = self.figure(f"antrea-ci build --platform {name} --output, after a prune")
        shared = self.figure(f"dagger call build --platform {name} agent export, after antrea-ci")
        called = self.figure(f"dagger call build --platform {name} agent export, warm")
        direct = self.figure(f"antrea-ci build --platform {name} --output, warm")
        images = ["--distro-image", self.testbed.distro_image, "--go-image", self.testbed.go_image]
        output = self.tree.parent / "module-front"
        dagger_build = [
            *[cli, *module, "call", *fixture_options(self.tree, self.tarball), *images],
            *["build", "--platform", name, "agent", "export", "--path", str(output / "agent.tar")],
        ]
        cli_build = [
            *[ANTREA_CI, "build", *fixture_options(self.tree, self.tarball)],
            *["--platform", name, "--output", str(output)],
        ]
        for _ in range(runs):
            await prune()
            self.add(first, run_timed([cli, *module, "functions"]))
            self.add(again, run_timed([cli, *module, "functions"]))
            self.add(cold, run_timed(cli_build))
            self.add(shared, run_timed(dagger_build))
            self.add(called, run_timed(dagger_build))
            self.add(direct, run_timed(cli_build))
        self.comparisons += [
            Comparison("the module loaded again", first, again),
            Comparison("dagger call after antrea-ci built the same", cold, shared),
            Comparison("a warm build, dagger call against antrea-ci", called, direct),
        ]

    async def release_images(self, runs: int, fixture: Benchmarks) -> None:
        """7. What a release builds, from this tree and OVS tarball: every image of
        linux/arm64 cold (the OVS .debs built under emulation), the same with the base images
        from the registry, linux/amd64 cold (native); each image's size against the
        fixture's (compressed, as a node pulls it)."""
        arm64, amd64 = "linux/arm64", "linux/amd64"
        emulated = self.figure(f"all images {arm64}, cold (OVS built under emulation)")
        reused = self.figure(f"all images {arm64}, cold but base images from the registry")
        native = self.figure(f"all images {amd64}, cold")
        sizes = {
            image: self.figure(f"size of {name} {arm64}", "MiB")
            for image, name in IMAGE_NAMES.items()
        }
        fixture_sizes = {
            image: self.figure(f"size of {name} {arm64}, fixture", "MiB")
            for image, name in IMAGE_NAMES.items()
        }
        for _ in range(runs):
            await prune()
            self.add(emulated, await timed(lambda: self.build_all(arm64)))
            bases = f"{self.testbed.registry}/benchmark-bases-{uuid.uuid4().hex[:8]}"
            for image, size in (await self.pushed_sizes(self, arm64, bases)).items():
                self.add(sizes[image], size)
            await prune()
            self.add(reused, await timed(partial(self.build_all, arm64, bases)))
            await prune()
            self.add(native, await timed(lambda: self.build_all(amd64)))
            scratch = f"{self.testbed.registry}/benchmark-bases-{uuid.uuid4().hex[:8]}"
            for image, size in (await self.pushed_sizes(fixture, arm64, scratch)).items():
                self.add(fixture_sizes[image], size)
        self.comparisons.append(Comparison("base images reused", emulated, reused))
        self.comparisons += [
            Comparison(f"{name} real against fixture", sizes[image], fixture_sizes[image])
            for image, name in IMAGE_NAMES.items()
        ]

    @staticmethod
    async def pushed_sizes(bench: Benchmarks, platform: str, namespace: str) -> dict[str, float]:
        """Push every image of one platform (publish-base, publish-arch) to NAMESPACE; each
        image's size in MiB: config and layers as the registry holds them."""
        references: dict[str, str] = {}

        async def push() -> None:
            antrea = bench.antrea()
            pushed = [
                *await antrea.publish_base(namespace, [platform]),
                *await antrea.publish_arch([namespace], "size", platform),
            ]
            for reference in pushed:
                repository = split_reference(reference)[1].rpartition("/")[2]
                image = next(key for key, name in IMAGE_NAMES.items() if name == repository)
                references[image] = reference

        await timed(push)
        return {image: pushed_size(reference) / 2**20 for image, reference in references.items()}


async def fault_campaign(testbed: OfflineTestBed, tree: Path, tarball: Path, runs: int) -> str:
    """8. Each release flow under each mix of faults with seeds 1..RUNS
    (tests/support/fault_campaign.py): every run's line and the totals, as Markdown."""
    done: list[CampaignRun] = []
    async with engine_connection():
        for flow in FLOWS:
            reference: dict[str, str] = {}
            for mix in MIXES:
                campaign = Campaign(
                    testbed.registry,
                    lambda: fixture_antrea(testbed, tree, tarball),
                    ["linux/amd64", "linux/arm64"],
                    mix,
                )
                reference = reference or await campaign.reference(flow)
                for seed in range(1, runs + 1):
                    done.append(await campaign.run(flow, seed, reference))
                    print(done[-1].line(), file=sys.stderr, flush=True)
    return "\n".join(
        [
            *(f"Faults, {mix} (seeded): {faults}" for mix, faults in MIXES.items()),
            "",
            *(f"- {run.line()}" for run in done),
            "",
            *(f"**{mix}: {summary([r for r in done if r.mix == mix])}**" for mix in MIXES),
            "",
            f"**in all: {summary(done)}**",
        ]
    )


GO_TOOLCHAIN = Path(__file__).resolve().parents[1] / "tests" / "engine" / "go-toolchain"


def go_toolchain(platform: Platform, dest: Path) -> Path:
    """The go command of the pinned Go for the platform, from the Go module proxy as the
    test bed's seed images get it."""
    command = [str(GO_TOOLCHAIN), pins().go, platform.facts.goarch, str(dest)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return dest / "usr" / "local" / "go" / "bin" / "go"


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


def pushed_size(reference: str) -> int:
    """Bytes of an image's config and layers in its registry (its first manifest if an
    index)."""
    document = manifest(reference)
    if "manifests" in document:
        host, repository, _ = split_reference(reference)
        document = manifest(f"{host}/{repository}@{document['manifests'][0]['digest']}")
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


SECTIONS = (
    "go",
    "build",
    "platforms",
    "memory",
    "tests",
    "upload",
    "release",
    "faults",
    "cache",
    "module",
    "qemu",
)


def main(
    source: Annotated[
        Path | None, typer.Option(help="An Antrea source tree (default: the test fixture).")
    ] = None,
    ovs_tarball_path: Annotated[
        Path | None,
        typer.Option(
            "--ovs-tarball", help="An OVS release tarball (default: the fixture's ovs-mini)."
        ),
    ] = None,
    platform: Annotated[str, typer.Option(help="Platform of the one-platform builds.")] = (
        "linux/amd64"
    ),
    runs: Annotated[int, typer.Option(min=1, help="Runs per figure (the median is kept).")] = 3,
    emulated_limit: Annotated[
        float,
        typer.Option(
            min=0,
            help="go, tests and qemu: stop each compile under emulation at this many times its "
            "run's native compile (0: no limit); a stopped run's figure is a lower bound.",
        ),
    ] = 0,
    three_platform_runs: Annotated[
        int, typer.Option(min=1, help="Runs of the three-platform builds (the longest).")
    ] = 1,
    memory_caps: Annotated[
        tuple[float, float],
        typer.Option(
            help="memory: the engine's and the build containers' caps (GiB) of the capped "
            "three-platform build (0 0: none). The default leaves 1 GiB of an 8 GiB runner "
            "to its system.",
        ),
    ] = (2, 5),
    section: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these: go (1. cross against emulated), build (2. one platform), "
            "platforms (3. and 4.), memory (4. alone: three platforms concurrently, then "
            "within --memory-caps), tests (5. unit tests), upload (6. the source), "
            "release (7. every image from the tarball, arm64 emulated, sizes), faults (8. "
            "release flows under the fault proxy, RUNS seeds per flow), cache (9. the CLI's "
            "build again, and after an engine restart), module (10. the module front's cost), "
            "qemu (11. section 1's go build on the host, no engine: QEMU's own cost); "
            "repeatable."
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option(help=f"Add the results to {RESULTS.name}, with the machine.")
    ] = False,
) -> None:
    """Measure and print the table of issue 7."""
    chosen = section or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        raise typer.BadParameter(f"{sorted(unknown)}: expected {', '.join(SECTIONS)}")
    testbed = require_testbed()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="antrea-ci-benchmark-") as scratch:
        workdir = Path(scratch)
        if source:
            tree = workdir / "antrea"
            shutil.copytree(source, tree, symlinks=True)
        else:
            tree = antrea_checkout(workdir)
        fixture_tarball = ovs_tarball(workdir)
        bench = Benchmarks(
            testbed, tree, ovs_tarball_path or fixture_tarball, str(parse_platform(platform))
        )

        campaign: list[str] = []

        async def measure() -> None:
            if "go" in chosen:
                await bench.go_binaries(runs, emulated_limit)
            if "qemu" in chosen:
                await bench.qemu_reference(runs, emulated_limit)
            if "build" in chosen:
                await bench.one_platform(runs)
            if "platforms" in chosen or "memory" in chosen:
                uncapped = await bench.three_platforms(
                    three_platform_runs, one_after_another_too="platforms" in chosen
                )
            if "memory" in chosen and any(memory_caps):
                engine_cap, containers_cap = memory_caps
                caps = {"engine": engine_cap, "build containers": containers_cap}
                await bench.capped_memory(three_platform_runs, caps, uncapped)
            if "tests" in chosen:
                await bench.unit_tests(runs, emulated_limit)
            if "upload" in chosen:
                await bench.upload(runs)
            if "release" in chosen:
                fixture = Benchmarks(testbed, antrea_checkout(workdir), fixture_tarball, "")
                await bench.release_images(runs, fixture)
            if "cache" in chosen:
                await bench.cli_cache(runs)
            if "module" in chosen:
                await bench.module_front(runs)
            if "faults" in chosen:
                campaign.append(await fault_campaign(testbed, tree, bench.tarball, runs))
            async with engine_connection():
                bench.notes.append(f"disk after the run: {await disk_usage()}")

        anyio.run(measure)
    table = "\n\n".join(
        [
            *([markdown_table(bench.figures, bench.comparisons)] if bench.figures else []),
            *(["\n".join(f"- {note}" for note in bench.notes)] if bench.notes else []),
            *campaign,
        ]
    )
    print(table)
    if write:
        results = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        command = " ".join(["python -m benchmarks.run", *sys.argv[1:]])
        RESULTS.write_text(
            f"{results}\n## {started:%Y-%m-%d %H:%M} UTC: `{command}`\n\n"
            f"On {machine()}; offline test bed (engine in Docker, arm64 and arm/v7 emulated by "
            f"QEMU user mode); source: {source or 'the antrea-mini fixture'}; OVS: "
            f"{ovs_tarball_path or 'the ovs-mini fixture'}.\n\n{table}\n"
        )


if __name__ == "__main__":
    typer.run(main)
