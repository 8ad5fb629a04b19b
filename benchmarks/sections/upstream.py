"""13. Upstream's own route beside antrea-ci: the same tree, machine and run, both with
empty caches at the start; per-stage times mapped to each other; the images compared file
by file (ci.core.parity)."""

from __future__ import annotations

import platform as platform_module
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import anyio

from benchmarks.common import CHANGED_FILE, Bench, code_change, prune
from benchmarks.figures import Comparison
from ci.core import parity
from ci.core.catalog import IMAGE_NAMES
from ci.core.platforms import Platform, parse_platform, runs_natively
from ci.core.timings import StageTimes, image_tarball_name
from ci.engine.session import engine_connection
from ci.images.local_build import LocalBuild
from tests.support.parity_allowed import ALLOWED
from tests.support.upstream_route import (
    RouteError,
    RouteRun,
    UpstreamRoute,
    docker_bridge_address,
    file_server,
)
from tests.support.upstream_substitutions import listed

# antrea-ci's image and upstream's local name of the same image.
COMPARED = {
    "agent": "antrea-agent-ubuntu",
    "controller": "antrea-controller-ubuntu",
    "flow_aggregator": "flow-aggregator",
}


def empty_docker() -> None:
    """Docker's build cache and upstream's images gone: upstream's route starts cold."""
    images = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ours = [
        i for i in images if i.startswith(("antrea/", "antrea-openvswitch", "ubuntu:", "golang:"))
    ]
    if ours:
        subprocess.run(["docker", "rmi", "-f", *ours], capture_output=True, check=True)
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=True)


async def ours(bench: Bench, platform: Platform, output: Path) -> tuple[float, StageTimes]:
    """antrea-ci's build of every image of the platform into OCI tarballs (the CLI's
    `build --output`), timed, with its stage times."""
    times = StageTimes("build")
    started = time.monotonic()
    async with engine_connection():
        await LocalBuild(bench.builder(), output, times, say=lambda line: None).run([platform])
    return time.monotonic() - started, times


async def theirs(route: UpstreamRoute, platform: Platform, log: Path, limit: float) -> RouteRun:
    """Upstream's route for the platform, stopped after limit seconds (0: never)."""
    return await anyio.to_thread.run_sync(route.build, platform, log, limit)


async def measure(bench: Bench, emulated_limit: float, wrappers_repo: Path, buildx: Path) -> str:
    """The rows of the bench's platform: natively (the host's architecture) cold, no change,
    one Go file changed, CNI plugins version changed; emulated cold (upstream stopped at
    emulated_limit times ours) and one Go file changed. Then both routes' images of that
    platform compared. Returns the substitutions and the parity reports, in Markdown. One
    run: each row starts from the state the row before left."""
    platform = parse_platform(bench.platform)
    host = parse_platform(f"linux/{platform_module.machine()}")  # x86_64, aarch64: aliases
    native = runs_natively(platform, host)
    with tempfile.TemporaryDirectory(prefix="antrea-ci-upstream-") as scratch:
        work = Path(scratch)
        log = work / "upstream.log"
        route = UpstreamRoute(bench.testbed, work, bench.tree, bench.tarball, wrappers_repo, buildx)
        reports: list[str] = []
        with file_server(route.files, docker_bridge_address()) as url:
            route.prepare(url)
            reports.append(
                "Upstream's route ran with these offline substitutions "
                "(tests/support/upstream_substitutions.py):\n\n" + listed(route.substitutions)
            )
            same = replace(bench, tree=route.tree, wrapper_source=route.wrapper_checkout())
            limit = 0.0 if native else emulated_limit
            try:
                await rows(same, route, platform, work, log, limit, changes=native)
                reports += compare_images(route, work / f"ours-{platform.slug}", platform)
            except RouteError as error:
                print(f"upstream: {error}\n{log.read_text()[-6000:]}", file=sys.stderr)
                raise
        return "\n\n".join(reports)


async def rows(
    bench: Bench,
    route: UpstreamRoute,
    platform: Platform,
    work: Path,
    log: Path,
    limit: float,
    changes: bool,
) -> None:
    """One platform's rows, each a figure on each side and their ratio."""
    route.prepare_platform(platform, log)
    output = work / f"ours-{platform.slug}"

    async def row(label: str) -> None:
        mine = bench.figure(f"antrea-ci {platform}, {label}")
        upstream = bench.figure(f"upstream {platform}, {label}")
        seconds, times = await ours(bench, platform, output)
        bench.add(mine, seconds)
        stop = limit * seconds if limit else 0.0
        ran = await theirs(route, platform, log, stop)
        if ran.stopped:
            upstream.stopped.add(len(upstream.values))
        bench.add(upstream, ran.seconds)
        stages(bench, platform, label, times, ran)
        bench.comparisons.append(
            Comparison(f"{platform} {label}, upstream/antrea-ci", upstream, mine)
        )

    empty_docker()
    await prune()
    await row("cold")
    if changes:
        await row("no change")
    changed = bench.tree / CHANGED_FILE
    changed.write_text(code_change(changed.read_text()))
    await row("one Go file changed")
    if changes:
        deps = bench.tree / "build/images/deps/cni-binaries-version"
        deps.write_text("v1.9.0\n")
        route.prepare_platform(platform, log)  # upstream downloads v1.9.0's .tgz: served
        await row("CNI plugins version changed (v1.9.1 to v1.9.0)")
        deps.write_text("v1.9.1\n")


def stages(bench: Bench, platform: Platform, label: str, times: StageTimes, ran: RouteRun) -> None:
    """Each image's seconds on both sides, as a note: antrea-ci's stage times (from when the
    image it stands on was done), upstream's each build's own time."""
    mine = {r.stage: r.seconds for r in times.records if r.platform == str(platform)}
    cells = [
        f"{stage} {mine.get(stage, 0.0):.1f} s / {ran.stages.get(stage, 0.0):.1f} s"
        for stage in ("ovs", "base", "controller", "agent", "flow_aggregator")
    ]
    bench.notes.append(f"stages, {platform} {label} (antrea-ci / upstream): " + "; ".join(cells))


def compare_images(route: UpstreamRoute, output: Path, platform: Platform) -> list[str]:
    """Both routes' images of the platform compared: a report per image."""
    reports = []
    for name, upstream_name in COMPARED.items():
        mine = parity.read_image(output / image_tarball_name(IMAGE_NAMES[name], str(platform)))
        other = parity.read_image(route.save(upstream_name, output.parent))
        comparison = parity.compare(mine, other, ALLOWED)
        versions = parity.package_versions(mine, other)
        title = f"{upstream_name} {platform}: antrea-ci against upstream"
        reports.append(parity.report(title, comparison, versions))
    return reports
