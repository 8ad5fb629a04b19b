"""9. The cache as users meet it: `antrea-ci build --output DIR`, again, after a restart."""

from __future__ import annotations

from benchmarks.common import Bench, prune, run_timed
from benchmarks.figures import Comparison
from tests.support.inputs import ANTREA_CI, fixture_options
from tests.support.testbed import restart_engine


async def measure(bench: Bench, runs: int) -> None:
    """One platform cold, then again with nothing changed in a new session, then again
    after an engine restart (the export of unchanged tarballs skipped)."""
    name = bench.platform
    cold = bench.figure(f"antrea-ci build {name} --output, cold")
    again = bench.figure(f"antrea-ci build {name} --output, again, nothing changed")
    restarted = bench.figure(f"antrea-ci build {name} --output, again after an engine restart")
    engine = bench.memory.container_name
    for run in range(runs):
        output = bench.tree.parent / f"cache-{run}"
        command = [
            *[ANTREA_CI, "build", *fixture_options(bench.tree, bench.tarball)],
            *["--platform", name, "--output", str(output)],
        ]
        await prune()
        bench.add(cold, run_timed(command))
        bench.add(again, run_timed(command))
        restart_engine(engine)
        bench.add(restarted, run_timed(command))
    bench.comparisons += [
        Comparison("nothing changed", cold, again),
        Comparison("nothing changed, engine restarted", cold, restarted),
    ]
