"""12. The portable Go cache on new runners: an engine with no state, the base images from
the registry, Go's work restored from a directory store (what actions/cache keeps) and from
a registry store (the entry pushed beside the images); its unit-test figures (e) also alone
(section go-cache-tests), for the package of any file of the tree."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from benchmarks.common import CHANGED_FILE, Bench, code_change, timed
from benchmarks.figures import Comparison, Figure
from ci.core.catalog import RELEASED
from ci.core.go_cache import CacheStore, DirectoryStore, RegistryStore
from ci.core.platforms import parse_platform
from ci.core.references import parse_repository
from ci.images.builder import ImageBuilder
from ci.release.release import Release
from ci.testing.unit_tests import TestSelection, UnitTestRunner
from tests.support.testbed import REPO_ROOT, engine_container

# The file changed before the unit tests of its package run, by default.
TEST_FILE = "pkg/util/ip/ip.go"
_SAID = re.compile(r"go cache: (restored|saved) .* in ([0-9.]+)s")
_SIZES = re.compile(r"modules (\d+) MiB, build cache (\d+) MiB, (\d+) MiB packed")


def new_runner() -> None:
    """The test bed's engine again with no state: its container and state volume removed,
    then started by tests/engine/up (as a hosted runner's job starts)."""
    name = engine_container()
    subprocess.run(["docker", "rm", "-f", name], check=True, capture_output=True)
    subprocess.run(
        ["docker", "volume", "rm", "-f", f"{name}-state"], check=True, capture_output=True
    )
    subprocess.run([str(REPO_ROOT / "tests/engine/up")], check=True, stdout=subprocess.DEVNULL)


def change(bench: Bench, path: str) -> None:
    """One Go file of the bench's tree changed (code_change)."""
    changed = bench.tree / path
    changed.write_text(code_change(changed.read_text()))


def entry_figures(bench: Bench, entry: str) -> dict[str, Figure]:
    """The sizes of a saved Go cache entry, as figures ("Go cache entry" plus what of)."""
    return {
        label: bench.figure(f"{entry}, {label}", "MiB")
        for label in ("module cache", "build cache", "packed")
    }


def test_package(bench: Bench, test_file: str) -> str:
    """The package (./folder) whose unit tests run after test_file changed; SystemExit when
    the tree has no such file."""
    if not (bench.tree / test_file).is_file():
        raise SystemExit(f"benchmark: {test_file} is not a file of {bench.tree}")
    return f"./{Path(test_file).parent}"


class Said(contextlib.AbstractContextManager["Said"]):
    """What the Go cache said on stderr while a step ran (stderr still shows it)."""

    def __init__(self) -> None:
        self.text = io.StringIO()
        self._redirect = contextlib.redirect_stderr(self.text)

    def __enter__(self) -> Said:
        self._redirect.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._redirect.__exit__(None, None, None)
        sys.stderr.write(self.text.getvalue())

    def all_seconds(self, what: str) -> list[float]:
        """The times the cache said it took to restore or save, in the order said."""
        found = [float(m.group(2)) for m in _SAID.finditer(self.text.getvalue()) if m[1] == what]
        if not found:
            raise SystemExit(f"benchmark: the Go cache did not say it {what} anything")
        return found

    def seconds(self, what: str) -> float:
        """The time the cache said it took the last time it restored or saved."""
        return self.all_seconds(what)[-1]

    def sizes(self) -> tuple[int, int, int]:
        match = _SIZES.search(self.text.getvalue())
        if match is None:
            raise SystemExit("benchmark: the Go cache did not say the sizes it saved")
        return int(match[1]), int(match[2]), int(match[3])


async def measure(bench: Bench, runs: int, test_file: str = TEST_FILE) -> None:
    """(a) cold; (b) new runner, cache restored, no change; (c) the same, one Go file
    changed; (d) warm engine, the same kind of change; then (e) (unit_tests). The platform
    is the bench's (linux/arm64 for issue 28's targets)."""
    name = bench.platform
    target = parse_platform(name)
    test_package(bench, test_file)  # before the long part, not after it
    figures = {
        "a": bench.figure(f"(a) build {name}, new runner, no Go cache (cold)"),
        "b": bench.figure(f"(b) build {name}, new runner, Go cache restored, no change"),
        "c": bench.figure(f"(c) build {name}, new runner, Go cache restored, one Go file changed"),
        "d": bench.figure(f"(d) build {name}, warm engine, one Go file changed"),
        "b_registry": bench.figure(
            f"(b) build {name}, new runner, Go cache restored from the registry, no change"
        ),
        "c_registry": bench.figure(
            f"(c) build {name}, new runner, Go cache restored from the registry, "
            "one Go file changed"
        ),
        "f": bench.figure(
            f"(f) new runner: the tree read, the Go, distribution and base images pulled, "
            f"nothing built ({name})"
        ),
    }
    restore = bench.figure("restore of the Go cache (directory store), new runner")
    save = bench.figure("save of the Go cache (directory store)")
    registry_restore = bench.figure("restore of the Go cache (registry store), new runner")
    registry_save = bench.figure("save of the Go cache (registry store)")
    sizes = entry_figures(bench, "Go cache entry")
    with tempfile.TemporaryDirectory(prefix="antrea-ci-go-cache-") as scratch:
        store = DirectoryStore(Path(scratch) / "store")
        run_id = uuid.uuid4().hex[:8]
        bases = f"{bench.testbed.registry}/benchmark-go-cache-bases-{run_id}"
        in_registry = RegistryStore(
            parse_repository(f"{bench.testbed.registry}/benchmark-go-cache-{run_id}")
        )
        new_runner()
        await timed(lambda: Release(bench.builder()).publish_base(bases, [target], True))

        def builder(
            cache_from: CacheStore | None = None, cache_to: CacheStore | None = None
        ) -> ImageBuilder:
            inputs = bench.builder(bases).inputs
            return ImageBuilder(replace(inputs, cache_from=cache_from, cache_to=cache_to))

        async def build(cache_from: CacheStore | None = None) -> None:
            images = await builder(cache_from).build(target)
            for image in RELEASED:
                await getattr(images, image).sync()

        async def build_then_save() -> None:
            """(a): the cold build timed alone, then its Go cache saved to the directory
            store, then to the registry store."""
            saving = builder(cache_to=store)
            started = time.monotonic()
            plan = await saving.plan()
            images = await saving.images(await saving.platform_plan(plan, target, True))
            for image in RELEASED:
                await getattr(images, image).sync()
            bench.add(figures["a"], time.monotonic() - started)
            await saving.save_go_cache(plan)
            await builder(cache_to=in_registry).save_go_cache(plan)

        async def pulls_only() -> None:
            """What a new runner does before any Go: the plan (the tree read, the Go image
            pulled), the distribution image and the base images pulled."""
            pulling = builder()
            plan = await pulling.plan()
            await pulling.bases(await pulling.platform_plan(plan, target, True))

        async def restored_builds(
            source: CacheStore, no_change: str, one_change: str, restore_figure: Figure
        ) -> None:
            """(b) then (c) from that store, each on a new runner, with the restore's time."""
            new_runner()
            with Said() as said:
                bench.add(figures[no_change], await timed(lambda: build(cache_from=source)))
            bench.add(restore_figure, said.seconds("restored"))
            new_runner()
            change(bench, CHANGED_FILE)
            bench.add(figures[one_change], await timed(lambda: build(cache_from=source)))

        for _ in range(runs):
            new_runner()
            bench.add(figures["f"], await timed(pulls_only))
            new_runner()
            with Said() as said:
                await timed(build_then_save)
            saved = said.all_seconds("saved")
            bench.add(save, saved[0])
            bench.add(registry_save, saved[1])
            for label, size in zip(sizes, said.sizes(), strict=True):
                bench.add(sizes[label], size)
            await restored_builds(store, "b", "c", restore)
            change(bench, CHANGED_FILE)
            bench.add(figures["d"], await timed(lambda: build(cache_from=store)))
            await restored_builds(in_registry, "b_registry", "c_registry", registry_restore)

    bench.comparisons += [
        Comparison("restored cache against cold, one Go file changed", figures["a"], figures["c"]),
        Comparison("restored cache against a warm engine", figures["c"], figures["d"]),
        Comparison(
            "registry-restored cache against cold, one Go file changed",
            figures["a"],
            figures["c_registry"],
        ),
        Comparison(
            "registry-restored cache against a warm engine", figures["c_registry"], figures["d"]
        ),
        Comparison("restored cache against cold, no change", figures["a"], figures["b"]),
        Comparison("a new runner's pulls in the restored build", figures["c"], figures["f"]),
    ]
    await unit_tests(bench, runs, test_file)


async def unit_tests(bench: Bench, runs: int, test_file: str = TEST_FILE) -> None:
    """(e) the unit tests of test_file's package after that file changed: on a new runner
    with the Go cache its last run saved restored, against cold, and on the warm engine
    after (what no restore can beat); the entry's sizes and restore time."""
    name = bench.platform
    target = parse_platform(name)
    package = test_package(bench, test_file)
    cold = bench.figure(f"(e) unit tests {package} on {name}, one file changed, cold")
    restored = bench.figure(
        f"(e) unit tests {package} on {name}, one file changed, new runner, restored"
    )
    warm = bench.figure(
        f"(e) unit tests {package} on {name}, one file changed, warm engine (the floor)"
    )
    sizes = entry_figures(bench, "Go cache entry of the unit tests' run")
    restore = bench.figure("restore of the unit tests' Go cache entry, new runner")
    with tempfile.TemporaryDirectory(prefix="antrea-ci-go-cache-tests-") as scratch:
        store = DirectoryStore(Path(scratch) / "store")

        async def run(
            cache_from: CacheStore | None = None, cache_to: CacheStore | None = None
        ) -> None:
            inputs = replace(bench.builder().inputs, cache_from=cache_from, cache_to=cache_to)
            runner = UnitTestRunner(ImageBuilder(inputs))
            outcome = await runner.run(target, TestSelection((package,)))
            print(f"{name}: {outcome.summary}", file=sys.stderr)

        for _ in range(runs):
            new_runner()
            with Said() as said:
                await timed(lambda: run(cache_to=store))
            for label, size in zip(sizes, said.sizes(), strict=True):
                bench.add(sizes[label], size)
            change(bench, test_file)
            new_runner()
            bench.add(cold, await timed(run))
            change(bench, test_file)
            new_runner()
            with Said() as said:
                bench.add(restored, await timed(lambda: run(cache_from=store)))
            bench.add(restore, said.seconds("restored"))
            change(bench, test_file)
            bench.add(warm, await timed(lambda: run(cache_from=store)))
    bench.comparisons += [
        Comparison("unit tests, restored against cold", cold, restored),
        Comparison("unit tests, restored against a warm engine", restored, warm),
    ]
