"""Benchmarks on the offline test bed: `python -m benchmarks.run [--source DIR] [--runs N]`.

Every figure is the median of several runs and every comparison a ratio of two figures of
the same run of this script. Each measured step runs in its own engine session, as a new
`antrea-ci` run would (a session keeps what it computed); "cold" means the engine's local
cache pruned, from another session, just before. One module per section in
benchmarks/sections/; what they share in benchmarks/common.py.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import anyio
import typer

from benchmarks.common import Bench, machine
from benchmarks.figures import markdown_table
from benchmarks.sections import build as build_section
from benchmarks.sections import cache as cache_section
from benchmarks.sections import engines as engines_section
from benchmarks.sections import faults as faults_section
from benchmarks.sections import go as go_section
from benchmarks.sections import go_cache as go_cache_section
from benchmarks.sections import module as module_section
from benchmarks.sections import platforms as platforms_section
from benchmarks.sections import qemu as qemu_section
from benchmarks.sections import release as release_section
from benchmarks.sections import tests as tests_section
from benchmarks.sections import upload as upload_section
from benchmarks.sections import upstream as upstream_section
from ci.core.platforms import parse_platform
from ci.engine.session import engine_connection
from tests.support.disk_usage import disk_usage
from tests.support.inputs import antrea_checkout, ovs_tarball
from tests.support.testbed import require_testbed

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

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
    "go-cache",
    "go-cache-tests",
    "upstream",
    "engines",
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
            "qemu (11. section 1's go build on the host, no engine: QEMU's own cost), "
            "go-cache (12. new runners with the Go cache restored; restarts the engine with no "
            "state), go-cache-tests (12.'s unit-test figures (e) alone), upstream (13. "
            "upstream's own script and Dockerfiles beside antrea-ci on --platform, images "
            "compared; needs --iptables-wrappers-repo), engines (14. three platforms on "
            "two engines against one, each engine's busy time, the gate's cost; "
            "starts a second engine); repeatable."
        ),
    ] = None,
    iptables_wrappers_repo: Annotated[
        Path | None,
        typer.Option(
            help="upstream: a git repository of kubernetes-sigs/iptables-wrappers holding the "
            "commit the tree pins (both routes build it; default: the fixture, not a repo)."
        ),
    ] = None,
    test_file: Annotated[
        str,
        typer.Option(
            help="go-cache, go-cache-tests: the file of the tree changed before the unit tests "
            "of its package (its folder) run."
        ),
    ] = go_cache_section.TEST_FILE,
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
        bench = Bench(
            testbed, tree, ovs_tarball_path or fixture_tarball, str(parse_platform(platform))
        )

        campaign: list[str] = []

        async def measure() -> None:
            if "go" in chosen:
                await go_section.measure(bench, runs, emulated_limit)
            if "qemu" in chosen:
                await qemu_section.measure(bench, runs, emulated_limit)
            if "build" in chosen:
                await build_section.measure(bench, runs)
            if "platforms" in chosen or "memory" in chosen:
                uncapped = await platforms_section.measure(
                    bench, three_platform_runs, one_after_another_too="platforms" in chosen
                )
            if "memory" in chosen and any(memory_caps):
                engine_cap, containers_cap = memory_caps
                caps = {"engine": engine_cap, "build containers": containers_cap}
                await platforms_section.capped(bench, three_platform_runs, caps, uncapped)
            if "tests" in chosen:
                await tests_section.measure(bench, runs, emulated_limit)
            if "upload" in chosen:
                await upload_section.measure(bench, runs)
            if "release" in chosen:
                fixture = Bench(testbed, antrea_checkout(workdir), fixture_tarball, "")
                await release_section.measure(bench, runs, fixture)
            if "cache" in chosen:
                await cache_section.measure(bench, runs)
            if "module" in chosen:
                await module_section.measure(bench, runs)
            if "go-cache" in chosen:
                await go_cache_section.measure(bench, runs, test_file)
            elif "go-cache-tests" in chosen:
                await go_cache_section.unit_tests(bench, runs, test_file)
            if "upstream" in chosen:
                if iptables_wrappers_repo is None:
                    raise typer.BadParameter("upstream needs --iptables-wrappers-repo")
                campaign.append(
                    await upstream_section.measure(
                        bench, emulated_limit, iptables_wrappers_repo, buildx()
                    )
                )
            if "engines" in chosen:
                await engines_section.measure(bench, runs)
            if "faults" in chosen:
                campaign.append(await faults_section.measure(bench, runs))
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


def buildx() -> Path:
    """The buildx tests/engine/tools built (ANTREA_CI_BUILDX)."""
    path = Path(os.environ.get("ANTREA_CI_BUILDX", ""))
    if not path.is_file():
        raise SystemExit('upstream needs buildx: run `eval "$(tests/engine/tools)"`')
    return path


if __name__ == "__main__":
    typer.run(main)
