"""2. Full build of one platform: cold, warm, one Go file changed, bases reused."""

from __future__ import annotations

import uuid

import dagger

from benchmarks.common import CHANGED_FILE, Bench, code_change, own_build_cache, prune, timed
from benchmarks.figures import Comparison
from ci.core.platforms import Platform, parse_platform
from ci.engine.session import engine_connection
from ci.images import golang
from ci.images.builder import ANTREA_COMMANDS
from ci.release.release import Release


async def measure(bench: Bench, runs: int) -> None:
    name = bench.platform
    cold = bench.figure(f"build {name}, cold")
    warm = bench.figure(f"build {name}, warm, no change")
    changed = bench.figure(f"build {name}, warm, one Go file changed")
    bare = bench.figure(
        f"bare go build of the {len(ANTREA_COMMANDS)} commands for {name} on the engine's "
        "platform, warm, one Go file changed"
    )
    reused = bench.figure(f"build {name}, cold but base images from the registry")
    bases = f"{bench.testbed.registry}/benchmark-bases-{uuid.uuid4().hex[:8]}"
    for run in range(runs):
        await prune()
        bench.add(cold, await timed(lambda: bench.build(name)))
        if run == 0:
            async with engine_connection():
                bench.notes.append(await antctl_version(bench, name))
        bench.add(warm, await timed(lambda: bench.build(name)))
        changed_file = bench.tree / CHANGED_FILE
        changed_file.write_text(code_change(changed_file.read_text()))
        bench.add(changed, await timed(lambda: bench.build(name)))
        async with engine_connection():
            bench.add(bare, await bare_incremental_go_build(bench, parse_platform(name)))
    target = [parse_platform(name)]
    await timed(lambda: Release(bench.builder()).publish_base(bases, target, True))
    for _ in range(runs):
        await prune()
        bench.add(reused, await timed(lambda: bench.build(name, bases)))
    bench.comparisons += [
        Comparison("warm cache", cold, warm),
        Comparison("one Go file changed", cold, changed),
        Comparison("one Go file changed, against a bare go build", changed, bare),
        Comparison("base images reused", cold, reused),
    ]


async def antctl_version(bench: Bench, platform: str) -> str:
    """What `antctl version` prints first in the platform's agent image, which must be the
    tree's version (Antrea's own way: v2.7.0-unknown for a tree without .git). Out of a
    cluster Antrea's antctl then fails to ask the controller for its version: the exit
    code and that error are said too."""
    images = await bench.builder().build(parse_platform(platform))
    ran = images.agent.with_exec(["antctl", "version"], expect=dagger.ReturnType.ANY)
    printed = next(iter((await ran.stdout()).strip().splitlines()), "")
    if printed != f"antctlVersion: {images.version}":
        raise SystemExit(f"benchmark: antctl version printed {printed!r}, not {images.version}")
    error = (await ran.stderr()).strip().splitlines()
    return (
        f"`antctl version` in the {platform} agent image: `{printed}` (exit "
        f"{await ran.exit_code()}: `{error[0] if error else ''}`)"
    )


async def bare_incremental_go_build(bench: Bench, target: Platform) -> float:
    """Seconds `go build` of the images' commands for the target takes by itself, timed
    inside a Go container of the engine's platform whose build cache holds the tree as
    it is, once one Go file changed: what the pipeline's incremental build is held to."""
    source = await bench.source()
    text = (bench.tree / CHANGED_FILE).read_text()
    changed = source.directory.with_new_file(CHANGED_FILE, code_change(text))
    packages = " ".join(f"./cmd/{command}" for command in ANTREA_COMMANDS)
    build = f'go build -trimpath -ldflags "$LDFLAGS" -o /out/ {packages}'
    builder = golang.cross_compiling(
        golang.go_builder(
            bench.testbed.go_image, own_build_cache(f"antrea-ci-benchmark-bare-{uuid.uuid4().hex}")
        ),
        target,
    ).with_env_variable("LDFLAGS", source.version.ldflags(source.module_path))
    warmed = (
        builder.with_mounted_directory(golang.SOURCE_DIR, source.directory)
        .with_workdir(golang.SOURCE_DIR)
        .with_exec(["sh", "-ec", build])
    )
    stamps = await (
        warmed.with_mounted_directory(golang.SOURCE_DIR, changed)
        .with_exec(["sh", "-ec", f"date +%s.%N; {build}; date +%s.%N"])
        .stdout()
    )
    started, ended = (float(stamp) for stamp in stamps.split())
    return ended - started
