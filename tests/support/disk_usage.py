"""The disk the offline test bed holds: the engine's cache against its budget, the engine's
state volume, the registries and the caches under ANTREA_CI_CACHE. `python -m
tests.support.disk_usage` prints it in one line (.ci/run does after its tests, the benchmarks
after their figures)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import anyio
from dagger import dag

from ci.engine.session import engine_connection
from tests.support.testbed import engine_container


@dataclass(frozen=True)
class EngineCacheUsage:
    """What the engine says of its local cache, in bytes, and the budget it prunes to."""

    used: int
    entries: int
    max_used: int
    min_free: int
    reserved: int


async def engine_cache_usage() -> EngineCacheUsage:
    """The engine's cache and budget (a connection must be open)."""
    cache = dag.engine().local_cache()
    entries = cache.entry_set()
    return EngineCacheUsage(
        used=await entries.disk_space_bytes(),
        entries=await entries.entry_count(),
        max_used=await cache.max_used_space(),
        min_free=await cache.min_free_space(),
        reserved=await cache.reserved_space(),
    )


def bytes_under(path: Path) -> int:
    """Bytes of the files under path (du), 0 where there is nothing."""
    if not path.exists():
        return 0
    du = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(du.stdout.split()[0])


def state_volume(engine: str) -> Path:
    """Where Docker keeps the engine's state volume (up names it ENGINE-state)."""
    inspect = ["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", f"{engine}-state"]
    return Path(subprocess.run(inspect, capture_output=True, text=True, check=True).stdout.strip())


def gigabytes(size: int) -> str:
    return f"{size / 1e9:.1f} GB"


def describe(usage: EngineCacheUsage, volume: int, registries: int, caches: int) -> str:
    """One line for a person reading a CI log or RESULTS.md. The engine's budget binds the
    cache it counts, which leaves out pulled images' lower layers, layer blobs made by
    exports and data no entry holds: the volume's size against that count says how much."""
    uncounted = f" ({volume / usage.used:.1f}x the engine's count)" if usage.used else ""
    return (
        f"engine cache {gigabytes(usage.used)} in {usage.entries} entries (budget "
        f"{gigabytes(usage.max_used)}, pruned while under {gigabytes(usage.min_free)} of the "
        f"disk is free, never below {gigabytes(usage.reserved)}); engine state volume "
        f"{gigabytes(volume)}{uncounted}; registries {gigabytes(registries)}; other caches "
        f"{gigabytes(caches - registries)}"
    )


async def disk_usage() -> str:
    """The test bed's disk usage now, in one line (a connection must be open)."""
    cache = Path(os.environ.get("ANTREA_CI_CACHE", "/var/cache/antrea-ci"))
    return describe(
        await engine_cache_usage(),
        bytes_under(state_volume(engine_container())),
        bytes_under(cache / "registry"),
        bytes_under(cache),
    )


async def main() -> None:
    async with engine_connection():
        print(f"disk: {await disk_usage()}")


if __name__ == "__main__":
    anyio.run(main)
