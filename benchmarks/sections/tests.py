"""5. Unit tests of a fixed package set on each platform, cold."""

from __future__ import annotations

from functools import partial

from benchmarks.common import Bench, own_build_cache, prune, timed, within
from benchmarks.figures import Comparison
from ci.core.platforms import default_platforms, parse_platform
from ci.testing import containers
from ci.testing.unit_tests import TestSelection, UnitTestRunner

TEST_PACKAGES = ("./pkg/util/...",)


async def measure(bench: Bench, runs: int, limit: float = 0) -> None:
    """On linux/arm64 the test binaries compiled natively (as `test` does) against compiled
    under emulation (with a limit, stopped at LIMIT times the natively compiled run: a
    lower bound)."""
    packages = " ".join(TEST_PACKAGES)
    arm64 = parse_platform("linux/arm64")
    per_platform = {
        str(platform): bench.figure(f"unit tests {packages} on {platform}, cold")
        for platform in default_platforms()
    }
    emulated_compile = bench.figure(
        f"unit tests {packages} on {arm64}, cold, compiled under emulation"
    )

    async def as_test_does(platform: str) -> None:
        runner = UnitTestRunner(bench.builder())
        outcome = await runner.run(parse_platform(platform), TestSelection(TEST_PACKAGES))
        print(f"{platform} (compiled on {outcome.compiled_on}): {outcome.summary}")

    async def compiled_in_target() -> None:
        source = await bench.source()
        command = containers.go_test_command(list(TEST_PACKAGES), race=False)
        caches = own_build_cache(f"antrea-ci-go-test-{arm64.slug}")
        ran = containers.go_test_container(
            arm64, bench.testbed.go_image, caches, source.directory, command
        )
        print(f"{arm64} (compiled there): go test exited {await ran.exit_code()}")

    # The comparison first (arm64 as `test` does it, then compiled under emulation): the
    # emulated compile is by far the longest figure.
    order = sorted(per_platform, key=lambda platform: platform != str(arm64))
    for _ in range(runs):
        await prune()
        bench.add(per_platform[order[0]], await timed(partial(as_test_does, order[0])))
        await prune()
        stop_after = limit * per_platform[order[0]].values[-1]
        bench.add(
            emulated_compile,
            await timed(partial(within, emulated_compile, stop_after, compiled_in_target)),
        )
        for platform in order[1:]:
            await prune()
            bench.add(per_platform[platform], await timed(partial(as_test_does, platform)))
    bench.comparisons.append(
        Comparison("unit tests compiled natively", emulated_compile, per_platform[str(arm64)])
    )
