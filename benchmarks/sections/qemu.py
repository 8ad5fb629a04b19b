"""11. What QEMU user mode itself costs section 1's Go build, no engine involved."""

from __future__ import annotations

import os
import platform as host
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

from benchmarks.common import Bench, go_toolchain, run_process_group, within
from benchmarks.figures import Comparison
from benchmarks.sections.go import ENGINE_CROSS, ENGINE_EMULATED
from ci.core.platforms import parse_platform
from ci.engine.session import engine_connection
from ci.images.builder import ANTREA_COMMANDS


async def measure(bench: Bench, runs: int, limit: float = 0) -> None:
    """The same `go build` of the same commands for linux/arm64 on the host, by Go for the
    host's platform and by Go for linux/arm64 run by QEMU (the binfmt handler the test
    bed registered), each with a build cache of its own. With section 1 in the same run:
    what the engine adds to each side."""
    target = parse_platform("linux/arm64")
    cross = bench.figure("arm64 binaries, cross-compiled on the host, no engine (cold)")
    emulated = bench.figure("arm64 binaries, arm64 Go under QEMU on the host, no engine (cold)")
    async with engine_connection():
        source = await bench.source()
    flags = ["-trimpath", "-ldflags", source.version.ldflags(source.module_path)]
    packages = [f"./cmd/{name}" for name in ANTREA_COMMANDS]
    with tempfile.TemporaryDirectory(prefix="antrea-ci-qemu-") as scratch:
        work = Path(scratch)
        native_go = go_toolchain(parse_platform(host.machine()), work / "native")
        target_go = go_toolchain(target, work / "target")

        def go_env(cache: Path) -> dict[str, str]:
            # No VCS stamp: the engine never sees the tree's .git either.
            return {
                **os.environ,
                **target.go_env,
                "GOTOOLCHAIN": "local",
                "CGO_ENABLED": "0",
                "GOFLAGS": "-buildvcs=false",
                "GOMODCACHE": str(work / "modules"),
                "GOCACHE": str(cache),
            }

        # Both sides find the tree's modules downloaded: the figures compare compiling.
        download = [str(native_go), "mod", "download"]
        subprocess.run(download, cwd=bench.tree, env=go_env(work / "cache"), check=True)
        for run in range(runs):
            for figure, go, name in ((cross, native_go, "cross"), (emulated, target_go, "qemu")):
                out = work / f"{name}-{run}"
                command = [str(go), "build", *flags, "-o", f"{out}/", *packages]
                limited = limit * cross.values[-1] if figure is emulated else 0
                started = time.monotonic()
                await within(
                    figure,
                    limited,
                    partial(run_process_group, command, bench.tree, go_env(out / "cache")),
                )
                bench.add(figure, time.monotonic() - started)
    bench.comparisons.append(Comparison("QEMU's own cost for Go (no engine)", emulated, cross))
    in_engine = {figure.name: figure for figure in bench.figures}
    for engine_name, on_host in ((ENGINE_CROSS, cross), (ENGINE_EMULATED, emulated)):
        if engine_name in in_engine:
            bench.comparisons.append(
                Comparison("what the engine adds", in_engine[engine_name], on_host)
            )
