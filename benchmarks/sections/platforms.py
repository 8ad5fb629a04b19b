"""3. and 4. Three platforms concurrently against one after another, and memory."""

from __future__ import annotations

from functools import partial

import dagger

from benchmarks.common import Bench, prune, timed
from benchmarks.figures import Comparison, Figure
from ci.core.platforms import default_platforms


async def measure(bench: Bench, runs: int, one_after_another_too: bool = True) -> Figure:
    """Engine memory: the cgroups' peaks and the resident peak sampled. Without
    one_after_another_too, only the concurrent build and its memory (the memory section: on
    a real tree the sequential build alone takes most of an hour). Returns the concurrent
    build's figure."""
    sequential = (
        bench.figure(f"build {bench.all_platforms}, cold, one after another")
        if one_after_another_too
        else None
    )
    concurrent = bench.figure(f"build {bench.all_platforms}, cold, concurrently")
    memory = {
        name: bench.figure(f"peak memory of the {name}, three platforms concurrently", "MiB")
        for name in bench.memory.groups
    }
    resident = bench.figure(
        "peak resident memory (anonymous and shared) of the engine and build containers "
        "together, three platforms concurrently",
        "MiB",
    )

    async def one_after_another() -> None:
        for platform in default_platforms():
            await bench.build(str(platform))

    for _ in range(runs):
        if sequential:
            await prune()
            bench.add(sequential, await timed(one_after_another))
        await prune()
        bench.memory.reset()
        took, peak = await bench.memory.with_peak_resident(partial(timed, bench.concurrently))
        bench.add(concurrent, took)
        bench.add(resident, peak)
        for name, usage in bench.memory.peaks_mib().items():
            bench.add(memory[name], usage)
    if sequential:
        bench.comparisons.append(Comparison("three platforms", sequential, concurrent))
    return concurrent


async def capped(bench: Bench, runs: int, caps: dict[str, float], uncapped: Figure) -> None:
    """4. The three platforms' concurrent cold build with each memory cgroup capped (GiB):
    its time against the uncapped build's, and the processes the kernel killed for want
    of memory. A build that fails within the caps (a compiler killed) is said in a note,
    its time left out."""
    limits = ", ".join(f"{name} {gib:g} GiB" for name, gib in caps.items())
    within_caps = Figure(f"build {bench.all_platforms}, cold, concurrently, capped ({limits})")
    killed = bench.figure(f"killed for want of memory, capped ({limits})", "processes")
    for _ in range(runs):
        await prune()
        kills = bench.memory.oom_kills()
        try:
            with bench.memory.capped(caps):
                bench.add(within_caps, await timed(bench.concurrently))
        except dagger.QueryError as error:
            bench.notes.append(f"the build capped ({limits}) failed: {error}".splitlines()[0])
        bench.add(killed, bench.memory.oom_kills() - kills)
    if within_caps.values:
        bench.figures.insert(bench.figures.index(killed), within_caps)
        bench.comparisons.append(Comparison("memory capped", within_caps, uncapped))
