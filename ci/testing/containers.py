"""Antrea's Go unit tests, run in a Go container of the target platform.

Natively, `go test` compiles and runs there. On an emulated platform the test binaries are
compiled on the engine's platform and only run in the target (without the race detector,
which cannot run emulated).
"""

from __future__ import annotations

import shlex

import dagger
from dagger import dag

from ci.cache.volumes import GoCacheVolumes
from ci.core.assets import BUILD_DIR
from ci.core.platforms import Platform
from ci.images.golang import SOURCE_DIR, cross_compiling, go_caches
from ci.testing.test_binaries import PACKAGE_LIST_TEMPLATE, CompileGroup

# What upstream's `make test-unit` tests.
DEFAULT_PACKAGES = [
    "./cmd/...",
    "./pkg/...",
    "./multicluster/cmd/...",
    "./multicluster/controllers/...",
]
RESULTS_DIR = "/results"
COVERAGE_FILE = f"{RESULTS_DIR}/coverage.out"
COVERAGE_MODE = "atomic"
# Where compiled test binaries, test2json and the runner's manifest and flags live.
TESTS_DIR = "/tests"
BUILD_JSON, BUILD_LOG, BUILD_FAILED = "build.json", "build.log", "build-failed"
RUNNER = BUILD_DIR / "unit-tests" / "run-test-binaries.sh"


RACE_MODES = ("auto", "on", "off")
EMULATED_RACE = (
    "emulated {platform} cannot run the race detector (ThreadSanitizer needs the address "
    "space of a native kernel, which user-mode QEMU does not give)"
)


class RaceDetectorUnavailable(ValueError):
    """The race detector was asked for where it cannot run."""


def race_decision(platform: Platform, native: bool, requested: str = "auto") -> tuple[bool, str]:
    """Whether to test with -race, and why not when it is off (pure).

    auto: on where Go has the race detector and the platform runs natively; on: the same,
    refused (RaceDetectorUnavailable) where it cannot run; off: never.
    """
    if requested not in RACE_MODES:
        raise ValueError(f"race must be auto, on or off, not {requested!r}")
    if requested == "off":
        return False, "race detector off: as asked"
    if not platform.facts.race:
        reason = f"Go has no race detector for {platform}"
    elif not native:
        reason = EMULATED_RACE.format(platform=platform) + "; it runs on a native runner"
    else:
        return True, ""
    if requested == "on":
        raise RaceDetectorUnavailable(f"--race on: {reason}")
    return False, f"race detector off: {reason}"


def go_test_command(
    packages: list[str],
    race: bool,
    run: str = "",
    extra_flags: list[str] | None = None,
    coverage: bool = False,
) -> list[str]:
    """The `go test -json` command line (pure)."""
    command = ["go", "test", "-json"]
    if race:
        command.append("-race")
    if run:
        command += ["-run", run]
    if coverage:
        command += [f"-coverprofile={COVERAGE_FILE}", f"-covermode={COVERAGE_MODE}"]
    return [*command, *(extra_flags or []), *packages]


def go_test_container(
    platform: Platform,
    go_image: str,
    caches: GoCacheVolumes,
    source: dagger.Directory,
    command: list[str],
) -> dagger.Container:
    """Run the command in the target platform with the caches (those of Go on that
    platform); it may fail, its output is the report."""
    return (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(go_image)
        .with_(go_caches(caches))
        # The race detector needs cgo; without it, cgo stays off as in upstream's builds.
        .with_env_variable("CGO_ENABLED", "1" if "-race" in command else "0")
        .with_mounted_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
        .with_exec(["mkdir", "-p", RESULTS_DIR])
        .with_exec(
            command, expect=dagger.ReturnType.ANY, redirect_stdout=f"{RESULTS_DIR}/go-test.json"
        )
    )


def _in_source(
    builder: dagger.Container, platform: Platform, source: dagger.Directory
) -> dagger.Container:
    return (
        cross_compiling(builder, platform)
        .with_mounted_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
    )


def list_packages(
    builder: dagger.Container, platform: Platform, source: dagger.Directory, packages: list[str]
) -> dagger.Container:
    """`go list` of the packages as the platform's build constraints see them; its stdout
    is one line per package (ci.testing.test_binaries.PACKAGE_LIST_TEMPLATE)."""
    return _in_source(builder, platform, source).with_exec(
        ["go", "list", "-f", PACKAGE_LIST_TEMPLATE, *packages]
    )


def compile_test_binaries(
    builder: dagger.Container,
    platform: Platform,
    source: dagger.Directory,
    groups: list[CompileGroup],
    build_flags: list[str],
    coverage: bool,
) -> dagger.Directory:
    """The groups' test binaries and test2json, compiled for the platform by the builder
    (on the engine's platform); build errors are JSON events in build.json, go's other
    complaints in build.log, and build-failed exists when a `go test -c` failed."""
    cover = ["-cover", f"-covermode={COVERAGE_MODE}"] if coverage else []
    commands = [
        shlex.join(["go", "build", "-o", f"{TESTS_DIR}/test2json", "cmd/test2json"]),
        *(
            shlex.join(
                [
                    "go",
                    "test",
                    "-c",
                    "-json",
                    *cover,
                    *build_flags,
                    "-o",
                    f"{group.directory}/",
                    *(package.import_path for package in group.packages),
                ]
            )
            + f" >>{TESTS_DIR}/{BUILD_JSON} 2>>{TESTS_DIR}/{BUILD_LOG}"
            + f" || touch {TESTS_DIR}/{BUILD_FAILED}"
            for group in groups
        ),
    ]
    return (
        _in_source(builder, platform, source)
        .with_workdir(TESTS_DIR)
        .with_exec(["touch", BUILD_JSON, BUILD_LOG])
        .with_workdir(SOURCE_DIR)
        .with_exec(["sh", "-ec", "\n".join(commands)])
        .directory(TESTS_DIR)
    )


def run_test_binaries(
    platform: Platform,
    go_image: str,
    source: dagger.Directory,
    tests: dagger.Directory,
    coverage: bool,
) -> dagger.Container:
    """Run the compiled test binaries in the platform, each in its package's directory;
    it may fail, its output is the report (RESULTS_DIR/go-test.json)."""
    container = (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(go_image)
        .with_mounted_directory(SOURCE_DIR, source)
        .with_mounted_directory(TESTS_DIR, tests)
        .with_new_file("/usr/local/bin/run-test-binaries", RUNNER.read_text(), permissions=0o755)
    )
    if coverage:
        container = container.with_env_variable("COVERAGE", COVERAGE_MODE)
    return container.with_exec(
        ["run-test-binaries", TESTS_DIR, RESULTS_DIR], expect=dagger.ReturnType.ANY
    )
