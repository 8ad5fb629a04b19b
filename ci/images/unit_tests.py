"""Antrea's Go unit tests, run in a Go container of the target platform."""

from __future__ import annotations

import dagger
from dagger import dag

from ci.images.golang import GO_BUILD_CACHE, GO_MOD_CACHE, SOURCE_DIR
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


def go_test_command(
    platform: Platform,
    packages: list[str],
    run: str = "",
    extra_flags: list[str] | None = None,
    coverage: bool = False,
) -> list[str]:
    """The `go test -json` command line: -race where Go has the race detector (pure)."""
    command = ["go", "test", "-json"]
    if platform.facts.race:
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
        .with_mounted_cache(GO_MOD_CACHE, dag.cache_volume("antrea-ci-go-mod"))
        .with_mounted_cache(GO_BUILD_CACHE, dag.cache_volume(f"antrea-ci-go-test-{platform.slug}"))
        .with_env_variable("GOMODCACHE", GO_MOD_CACHE)
        .with_env_variable("GOCACHE", GO_BUILD_CACHE)
        .with_env_variable("GOTOOLCHAIN", "local")
        .with_env_variable("CGO_ENABLED", "1" if platform.facts.race else "0")
        .with_mounted_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
        .with_exec(["mkdir", "-p", RESULTS_DIR])
        .with_exec(
            command, expect=dagger.ReturnType.ANY, redirect_stdout=f"{RESULTS_DIR}/go-test.json"
        )
    )
