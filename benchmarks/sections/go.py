"""1. Agent and controller binaries for linux/arm64: cross-compiled against emulated."""

from __future__ import annotations

import uuid
from functools import partial

from benchmarks.common import Bench, own_build_cache, timed, within
from benchmarks.figures import Comparison
from ci.core.platforms import Platform, parse_platform
from ci.images import golang
from ci.images.builder import ANTREA_COMMANDS

# Section 1's figures, which section 11 (qemu) compares with the same build on the host.
ENGINE_CROSS = "arm64 binaries, cross-compiled (cold Go cache)"
ENGINE_EMULATED = "arm64 binaries, in an emulated arm64 Go container (cold)"


async def measure(bench: Bench, runs: int, limit: float = 0) -> None:
    """With a limit, each emulated compile is stopped at LIMIT times its run's cross-compile
    (the figure is then a lower bound, marked so)."""
    target = parse_platform("linux/arm64")
    cross = bench.figure(ENGINE_CROSS)
    emulated = bench.figure(ENGINE_EMULATED)

    async def compile_on(where: Platform | None, modules_only: bool = False) -> None:
        # A build cache of its own and a variable no other run has: nothing is reused
        # but the Go module cache, the same for both.
        run = uuid.uuid4().hex[:12]
        caches = own_build_cache(f"antrea-ci-benchmark-{run}")
        builder = golang.go_builder(bench.testbed.go_image, caches, where).with_env_variable(
            "ANTREA_CI_BENCHMARK_RUN", run
        )
        source = await bench.source()
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
        bench.add(cross, await timed(lambda: compile_on(None)))
        bench.add(
            emulated,
            await timed(
                lambda: within(emulated, limit * cross.values[-1], partial(compile_on, target))
            ),
        )
    bench.comparisons.append(Comparison("Go for arm64", emulated, cross))
