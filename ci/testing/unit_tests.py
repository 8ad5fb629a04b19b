"""Antrea's Go unit tests in a target platform, and their typed report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import dagger
from dagger import Doc, dag, field, object_type

from ci.core.platforms import Platform
from ci.images import golang
from ci.images.builder import ImageBuilder
from ci.images.golang import SOURCE_DIR
from ci.images.source import AntreaSource
from ci.testing import containers as unit_tests_recipe
from ci.testing.gotest import FAIL, PASS, SKIP, junit_xml, parse_go_test_json
from ci.testing.test_binaries import (
    binary_flags,
    compile_groups,
    manifest,
    parse_package_list,
    split_flags,
    unbuilt_package_events,
)


class UnitTestFailure(RuntimeError):
    """Unit tests that failed; the message names them."""


@object_type
class UnitTests:
    """The outcome of Antrea's Go unit tests on one platform."""

    platform: Annotated[str, Doc("The platform the tests ran on")] = field()
    race: Annotated[bool, Doc("Whether the race detector was on")] = field()
    emulated: Annotated[bool, Doc("Whether the engine emulated the platform")] = field()
    compiled_on: Annotated[
        str, Doc("The platform the test binaries were compiled on (the engine's when emulated)")
    ] = field()
    note: Annotated[str, Doc("Why the race detector was off, when it was")] = field()
    passed: Annotated[int, Doc("Tests that passed")] = field()
    failed: Annotated[int, Doc("Tests that failed")] = field()
    skipped: Annotated[int, Doc("Tests that were skipped")] = field()
    failed_tests: Annotated[list[str], Doc("package.Test of each failed test")] = field()
    failed_packages: Annotated[
        list[str], Doc("Packages that failed outside any test (build errors, crashes)")
    ] = field()
    summary: Annotated[str, Doc("One line: packages, passed, failed, skipped, duration")] = field()
    json_report: Annotated[dagger.File, Doc("The `go test -json` output")] = field()
    junit: Annotated[dagger.File, Doc("The report as JUnit XML")] = field()
    coverage: Annotated[dagger.File | None, Doc("Coverage profile, when asked for")] = field()

    def failures(self) -> list[str]:
        """Each failed test, then each package that failed outside a test."""
        return [*self.failed_tests, *self.failed_packages]


@dataclass(frozen=True)
class _Run:
    """What one way of running the tests left: the report's lines and where they are."""

    exit_code: int
    lines: list[str]
    json_report: dagger.File
    results: dagger.Directory


async def _go_test(
    target: Platform, go_image: str, source: AntreaSource, command: list[str]
) -> _Run:
    """`go test` compiling and running in the target platform."""
    ran = unit_tests_recipe.run_unit_tests(target, go_image, source.directory, command)
    results = ran.directory(unit_tests_recipe.RESULTS_DIR)
    json_report = results.file("go-test.json")
    lines = (await json_report.contents()).splitlines()
    return _Run(await ran.exit_code(), lines, json_report, results)


async def _compiled_natively(
    target: Platform,
    go_image: str,
    source: AntreaSource,
    packages: list[str],
    run: str,
    extra_flags: list[str],
    coverage: bool,
) -> _Run:
    """Test binaries compiled on the engine's platform for the target, run in the target."""
    build_flags, test_flags = split_flags(extra_flags)
    builder = golang.go_builder(go_image)
    listed = unit_tests_recipe.list_packages(builder, target, source.directory, packages)
    listed_packages = parse_package_list(await listed.stdout())
    groups = compile_groups(listed_packages, unit_tests_recipe.TESTS_DIR)
    compiled = unit_tests_recipe.compile_test_binaries(
        builder, target, source.directory, groups, build_flags, coverage
    )
    build_lines = (await compiled.file(unit_tests_recipe.BUILD_JSON).contents()).splitlines()
    if unit_tests_recipe.BUILD_FAILED in await compiled.entries() and not any(
        '"build-fail"' in line for line in build_lines
    ):
        log = await compiled.file(unit_tests_recipe.BUILD_LOG).contents()
        build_lines += log.splitlines()
    tests = compiled.with_new_file(
        "manifest", manifest(groups, SOURCE_DIR, SOURCE_DIR)
    ).with_new_file("flags", "".join(f"{flag}\n" for flag in binary_flags(run, test_flags)))
    ran = unit_tests_recipe.run_test_binaries(target, go_image, source.directory, tests, coverage)
    results = ran.directory(unit_tests_recipe.RESULTS_DIR)
    run_lines = (await results.file("go-test.json").contents()).splitlines()
    lines = [
        *build_lines,
        *run_lines,
        *unbuilt_package_events(listed_packages, build_lines, run_lines),
    ]
    json_report = (
        dag.directory()
        .with_new_file("go-test.json", "".join(f"{line}\n" for line in lines))
        .file("go-test.json")
    )
    return _Run(await ran.exit_code(), lines, json_report, results)


async def run_unit_tests(
    builder: ImageBuilder,
    platform: str,
    packages: list[str] | None,
    run: str,
    extra_flags: list[str] | None,
    coverage: bool,
    race: str,
) -> UnitTests:
    """Run the unit tests in the platform and report, whatever their outcome."""
    target = await builder.platform(platform)
    source = await builder.source()
    go_image = await builder.resolved(builder.go_image(source.versions), target, "Go")
    emulated = await builder.emulated(target)
    with_race, note = unit_tests_recipe.race_decision(target, not emulated, race)
    packages = packages or unit_tests_recipe.DEFAULT_PACKAGES
    if emulated:
        compiled_on = str(await builder.platform(""))
        outcome = await _compiled_natively(
            target, go_image, source, packages, run, extra_flags or [], coverage
        )
    else:
        compiled_on = str(target)
        command = unit_tests_recipe.go_test_command(packages, with_race, run, extra_flags, coverage)
        outcome = await _go_test(target, go_image, source, command)
    report = parse_go_test_json(outcome.lines)
    if outcome.exit_code != 0 and report.ok:
        raise UnitTestFailure(
            f"go test failed on {target} without a test result: {report.summary()}"
        )
    # dagger's field() is not a dataclass field specifier mypy knows.
    return UnitTests(  # type: ignore[call-arg]
        platform=str(target),
        race=with_race,
        emulated=emulated,
        compiled_on=compiled_on,
        note=note,
        passed=report.count(PASS),
        failed=report.count(FAIL),
        skipped=report.count(SKIP),
        failed_tests=[f"{test.package}.{test.name}" for test in report.failed_tests],
        failed_packages=[
            package.name or "(build)"
            for package in report.failed_packages
            if not any(test.package == package.name for test in report.failed_tests)
        ],
        summary=report.summary(),
        json_report=outcome.json_report,
        junit=dag.directory().with_new_file("junit.xml", junit_xml(report)).file("junit.xml"),
        coverage=outcome.results.file("coverage.out") if coverage else None,
    )


def require_passed(outcome: UnitTests) -> UnitTests:
    """The outcome, unless a test or package failed: then UnitTestFailure naming them."""
    failures = outcome.failures()
    if failures:
        raise UnitTestFailure(
            f"{len(failures)} tests or packages failed on {outcome.platform}: "
            + ", ".join(failures)
        )
    return outcome
