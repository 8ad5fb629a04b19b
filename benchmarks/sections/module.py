"""10. What the module front costs, against the command line doing the same."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.common import Bench, prune, run_timed
from benchmarks.figures import Comparison
from tests.support.inputs import ANTREA_CI, fixture_options


async def measure(bench: Bench, runs: int) -> None:
    """Loading the module (`dagger functions`) after a prune and again; `dagger call`
    building what antrea-ci built just before (the two fronts share the engine's cache)
    against antrea-ci's cold build; a warm build through `dagger call` (the agent exported)
    against the same warm build through antrea-ci (every image, unchanged tarballs kept)."""
    cli = os.environ["_EXPERIMENTAL_DAGGER_CLI_BIN"]
    module = ["-m", str(Path(__file__).resolve().parents[2])]
    name = bench.platform
    first = bench.figure("dagger functions, the module loaded after a prune")
    again = bench.figure("dagger functions, the module loaded again")
    cold = bench.figure(f"antrea-ci build --platform {name} --output, after a prune")
    shared = bench.figure(f"dagger call build --platform {name} agent export, after antrea-ci")
    called = bench.figure(f"dagger call build --platform {name} agent export, warm")
    direct = bench.figure(f"antrea-ci build --platform {name} --output, warm")
    images = bench.testbed.image_options
    output = bench.tree.parent / "module-front"
    dagger_build = [
        *[cli, *module, "call", *fixture_options(bench.tree, bench.tarball), *images],
        *["build", "--platform", name, "agent", "export", "--path", str(output / "agent.tar")],
    ]
    cli_build = [
        *[ANTREA_CI, "build", *fixture_options(bench.tree, bench.tarball)],
        *["--platform", name, "--output", str(output)],
    ]
    for _ in range(runs):
        await prune()
        bench.add(first, run_timed([cli, *module, "functions"]))
        bench.add(again, run_timed([cli, *module, "functions"]))
        bench.add(cold, run_timed(cli_build))
        bench.add(shared, run_timed(dagger_build))
        bench.add(called, run_timed(dagger_build))
        bench.add(direct, run_timed(cli_build))
    bench.comparisons += [
        Comparison("the module loaded again", first, again),
        Comparison("dagger call after antrea-ci built the same", cold, shared),
        Comparison("a warm build, dagger call against antrea-ci", called, direct),
    ]
