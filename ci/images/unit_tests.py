"""Antrea's Go unit tests, run in a Go container of the target platform."""

from __future__ import annotations

import dagger
from dagger import dag

from ci.images.golang import SOURCE_DIR, go_caches
from ci.platforms import Platform

# What upstream's `make test-unit` tests.
DEFAULT_PACKAGES = [
    "./cmd/...",
    "./pkg/...",
    "./multicluster/cmd/...",
    "./multicluster/controllers/...",
]
RESULTS_DIR = "/results"
COVERAGE_FILE = f"{RESULTS_DIR}/coverage.out"


RACE_MODES = ("auto", "on", "off")
EMULATED_RACE_NOTE = (
    "race detector off: emulated {platform} cannot run it (ThreadSanitizer needs a 48-bit "
    "address space that user-mode QEMU on x86-64 does not provide); it runs natively"
)


def race_decision(platform: Platform, native: bool, requested: str = "auto") -> tuple[bool, str]:
    """Whether to test with -race, and why not when it is off (pure).

    auto: on where Go has the race detector and the platform runs natively; on: wherever
    Go has it; off: never.
    """
    if requested not in RACE_MODES:
        raise ValueError(f"race must be auto, on or off, not {requested!r}")
    if not platform.facts.race:
        return False, f"race detector off: Go has none for {platform}"
    if requested == "off":
        return False, "race detector off: as asked"
    if requested == "auto" and not native:
        return False, EMULATED_RACE_NOTE.format(platform=platform)
    return True, ""


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
        command += [f"-coverprofile={COVERAGE_FILE}", "-covermode=atomic"]
    return [*command, *(extra_flags or []), *packages]


def run_unit_tests(
    platform: Platform, go_image: str, source: dagger.Directory, command: list[str]
) -> dagger.Container:
    """Run the command in the target platform; it may fail, its output is the report."""
    return (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(go_image)
        .with_(go_caches(f"antrea-ci-go-test-{platform.slug}"))
        # The race detector needs cgo; without it, cgo stays off as in upstream's builds.
        .with_env_variable("CGO_ENABLED", "1" if "-race" in command else "0")
        .with_mounted_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
        .with_exec(["mkdir", "-p", RESULTS_DIR])
        .with_exec(
            command, expect=dagger.ReturnType.ANY, redirect_stdout=f"{RESULTS_DIR}/go-test.json"
        )
    )
