"""The engine's memory and its build containers', from their memory cgroups (v1)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio


class EngineMemory:
    """Memory of the engine's container and of the build containers it runs, from their
    memory cgroups (v1: the engine runs its containers in the `buildkit` cgroup): the peaks
    the kernel keeps (page cache included), resident memory sampled (anonymous and shared:
    what no reclaim frees without swap) and caps."""

    def __init__(self) -> None:
        runner = os.environ.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "")
        name = runner.removeprefix("docker-container://")
        container = subprocess.run(
            ["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True
        ).stdout.strip()
        v1 = Path("/sys/fs/cgroup/memory")
        groups = {"engine": v1 / "docker" / container, "build containers": v1 / "buildkit"}
        self.groups = {name: path for name, path in groups.items() if path.is_dir()}
        self.container_name = name
        if container == "" or "engine" not in self.groups:
            raise SystemExit(
                "benchmark: cannot read the engine's memory cgroup (v1) for "
                f"{runner!r}: run it on the offline test bed"
            )

    def reset(self) -> None:
        for group in self.groups.values():
            (group / "memory.max_usage_in_bytes").write_text("0")

    def peaks_mib(self) -> dict[str, float]:
        return {
            name: int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
            for name, group in self.groups.items()
        }

    def resident_mib(self) -> float:
        """Anonymous and shared memory of the engine and its containers together, now."""
        total = 0
        for group in self.groups.values():
            lines = (group / "memory.stat").read_text().splitlines()
            stats = dict(line.split() for line in lines)
            total += int(stats["total_rss"]) + int(stats.get("total_shmem", 0))
        return total / 2**20

    async def with_peak_resident(self, step: Callable[[], Awaitable[float]]) -> tuple[float, float]:
        """The step's result, and the peak of resident_mib sampled twice a second meanwhile."""
        result, peak = 0.0, 0.0

        async def run() -> None:
            nonlocal result
            result = await step()
            group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            while True:
                peak = max(peak, self.resident_mib())
                await anyio.sleep(0.5)
        return result, peak

    def oom_kills(self) -> int:
        """Processes the kernel killed for want of memory in these groups, so far."""
        kills = 0
        for group in self.groups.values():
            for line in (group / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                kills += int(value) if key == "oom_kill" else 0
        return kills

    @contextmanager
    def capped(self, caps: dict[str, float]) -> Iterator[None]:
        """Each named group limited to its cap (GiB) inside the block, unlimited after."""
        try:
            for name, gib in caps.items():
                (self.groups[name] / "memory.limit_in_bytes").write_text(str(int(gib * 2**30)))
            yield
        finally:
            for name in caps:
                (self.groups[name] / "memory.limit_in_bytes").write_text("-1")
