"""14. Three platforms on two engines against one (`--engine`), each engine's busy time, and
the release gate's cost per platform.

Both engines run on this machine (the test bed's and a second one, tests/engine/up), so they
share its cores: a routed release here shows the split of the work, not the gain of two
machines. Each engine's share is therefore also run alone on it; the longer of the two is
what a release on two machines waits for (the merge after it takes a second). linux/arm64
goes to the second engine, emulated there as on the default one (an arm64 machine would run
it natively). Every run is cold on both engines, with the base images from the registry.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

import anyio

from benchmarks.common import Bench
from benchmarks.figures import Comparison, Figure
from ci.cli.release import HELD_STAGE
from ci.core.engines import RUNNER_VARIABLE, platform_arguments, process_timings
from ci.core.platforms import default_platforms, parse_platform
from tests.support.inputs import ANTREA_CI, fixture_options
from tests.support.testbed import second_engine

ROUTED = "linux/arm64"
# A gate line as a run prints it, maybe after the engine's label of a routed run.
GATE_LINE = re.compile(r"gate: (?P<platform>\S+): \d+/\d+ checks passed in (?P<seconds>[\d.]+) s")
# The line of the step that makes a platform's images reproducible (ci/release/reproducible.py).
REPRODUCIBLE_LINE = re.compile(r"reproducible: (?P<platform>\S+): .* in (?P<seconds>[\d.]+) s$")
PRUNE = "import anyio; from benchmarks.common import prune; anyio.run(prune)"


async def measure(bench: Bench, runs: int) -> None:
    """One engine, then two (linux/arm64 on the second), then each engine's share alone;
    the gate's time per platform from the one-engine release."""
    second = await anyio.to_thread.run_sync(second_engine)
    platforms = [str(platform) for platform in default_platforms()]
    first_share = [platform for platform in platforms if platform != ROUTED]
    one = bench.figure(f"publish {', '.join(platforms)} on one engine, cold")
    routed = bench.figure(f"the same with {ROUTED} on a second engine (one machine), cold")
    busy_first = bench.figure(f"default engine's busy time in it ({', '.join(first_share)})")
    busy_second = bench.figure(f"second engine's busy time in it ({ROUTED})")
    alone_first = bench.figure(f"default engine's share alone ({', '.join(first_share)}), cold")
    alone_second = bench.figure(f"second engine's share alone ({ROUTED}), cold")
    two_machines = bench.figure("on two machines: the longer of the two shares alone")
    gates = {platform: bench.figure(f"release gate of {platform}") for platform in platforms}
    shares = {
        platform: bench.figure(f"release gate of {platform}, share of the one-engine release", "%")
        for platform in platforms
    }
    reproducible = {
        platform: bench.figure(f"reproducible images of {platform} (export, rewrite)")
        for platform in platforms
    }
    release = Release(bench, second, await publish_bases(bench, platforms))
    same: list[bool] = []
    for _ in range(runs):
        await release.prune()
        said = await release.timed(one, release.publish(platforms))
        for platform, seconds in step_seconds(GATE_LINE, said).items():
            bench.add(gates[platform], seconds)
            bench.add(shares[platform], 100 * seconds / one.values[-1])
        for platform, seconds in step_seconds(REPRODUCIBLE_LINE, said).items():
            bench.add(reproducible[platform], seconds)
        await release.prune()
        timings = release.workdir / f"routed-{uuid.uuid4().hex[:8]}.json"
        routing = ["--engine", f"{ROUTED}={second}", "--emulated-engines"]
        await release.timed(routed, release.publish(platforms, *routing, "--timings", timings))
        same.append(release.published[-1] == release.published[-2])
        busy = busy_seconds(timings, platforms)
        bench.add(busy_first, max(busy[platform] for platform in first_share))
        bench.add(busy_second, busy[ROUTED])
        await release.prune()
        await release.timed(alone_first, release.publish(first_share))
        await release.timed(alone_second, release.publish([ROUTED]), second)
        bench.add(two_machines, max(alone_first.values[-1], alone_second.values[-1]))
    bench.comparisons += [
        Comparison("two engines on one machine", one, routed),
        Comparison("two engines on two machines", one, two_machines),
    ]
    bench.notes.append(
        f"the routed release's index digests equal the one-engine release's in {sum(same)} "
        f"of {len(same)} runs (reproducible images)"
    )
    bench.notes.append(
        f"busy time: a routed publish-arch's own seconds, less those it was held waiting for "
        f"the other platforms ({HELD_STAGE!r} in its timings); an engine's, the longest of "
        "its processes (they start together)"
    )


async def publish_bases(bench: Bench, platforms: list[str]) -> str:
    """The OVS and base images of every platform pushed once (publish-base); their
    namespace, which every measured release takes its bases from."""
    namespace = f"{bench.testbed.registry}/benchmark-engines-bases-{uuid.uuid4().hex[:8]}"
    command = [ANTREA_CI, "publish-base", *options(bench), "--namespace", namespace]
    command += platform_arguments(platforms)
    await anyio.run_process(command, stdout=None, stderr=None)
    return namespace


def options(bench: Bench) -> list[str]:
    """The inputs of every command: the bench's tree and OVS tarball, the test bed's images."""
    return [
        *fixture_options(bench.tree, bench.tarball),
        *bench.testbed.image_options,
    ]


class Release:
    """`antrea-ci publish` of the bench's inputs on the base images, on either engine."""

    def __init__(self, bench: Bench, second: str, bases: str) -> None:
        self.bench = bench
        self.second = second
        self.bases = bases
        self.workdir = bench.tree.parent
        self.published: list[list[str]] = []
        """Each publish's index digests, in the order of the runs."""

    def publish(self, platforms: list[str], *extra: str | Path) -> list[str]:
        namespace = f"{self.bench.testbed.registry}/benchmark-engines-{uuid.uuid4().hex[:8]}"
        return [
            *[ANTREA_CI, "publish", *options(self.bench), "--base-registry", self.bases],
            *platform_arguments(platforms),
            *["--namespace", namespace, "--tag", "v2.7.0", *map(str, extra)],
        ]

    async def timed(self, figure: Figure, command: list[str], runner_host: str = "") -> str:
        """Run the command (on the engine of runner_host, else the default one), add its
        wall seconds to the figure; what it said on stderr."""
        started = time.monotonic()
        done = await anyio.run_process(command, check=False, env=on_engine(runner_host))
        seconds = time.monotonic() - started
        said = done.stderr.decode()
        if done.returncode:
            raise RuntimeError(f"{' '.join(command[:2])} failed: {said[-2000:]}")
        self.bench.add(figure, seconds)
        digests = [line.rsplit("@", 1)[-1] for line in done.stdout.decode().split()]
        self.published.append(digests)
        return said

    async def prune(self) -> None:
        """Both engines' local caches emptied (a process per engine: the SDK reads the
        runner host once per process)."""
        for runner_host in ("", self.second):
            command = [sys.executable, "-c", PRUNE]
            await anyio.run_process(command, stdout=None, env=on_engine(runner_host))


def on_engine(runner_host: str) -> dict[str, str]:
    """This process's environment, pointed at the engine of runner_host ("": the default)."""
    return {**os.environ, **({RUNNER_VARIABLE: runner_host} if runner_host else {})}


def step_seconds(line: re.Pattern[str], said: str) -> dict[str, float]:
    """Each platform's seconds of a step, from the lines of it a release said."""
    return {
        found["platform"]: float(found["seconds"])
        for found in (line.search(text) for text in said.splitlines())
        if found
    }


def busy_seconds(timings: Path, platforms: list[str]) -> dict[str, float]:
    """Each platform's publish-arch seconds in a routed publish, less its hold, from the
    timings file each process wrote (ci/cli/routed.py names them)."""
    busy = {}
    for platform in platforms:
        path = process_timings(timings, [parse_platform(platform)])
        rows = {row["stage"]: row["seconds"] for row in json.loads(path.read_text())["stages"]}
        busy[platform] = rows["publish-arch"] - rows[HELD_STAGE]
    return busy
