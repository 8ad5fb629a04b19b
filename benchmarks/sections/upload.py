"""6. The source tree handed to the engine: whole, and without what no stage reads."""

from __future__ import annotations

from functools import partial

from dagger import dag

from benchmarks.common import Bench, prune, timed
from benchmarks.figures import Comparison
from ci.images.source import UPLOAD_EXCLUDES


async def measure(bench: Bench, runs: int) -> None:
    whole = bench.figure("upload of the source tree, whole, cold")
    trimmed = bench.figure("upload of the source tree, without what no stage reads, cold")

    async def upload(exclude: list[str]) -> None:
        await dag.host().directory(str(bench.tree), exclude=exclude).sync()

    for _ in range(runs):
        await prune()
        bench.add(whole, await timed(partial(upload, [])))
        await prune()
        bench.add(trimmed, await timed(partial(upload, UPLOAD_EXCLUDES)))
    bench.comparisons.append(Comparison("upload trimmed", whole, trimmed))
