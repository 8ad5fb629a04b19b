"""Antrea's Go unit tests in a target platform, and their typed report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import dagger
from dagger import Doc, dag, field, object_type

from ci.cache.volumes import GoCacheVolumes
from ci.core.platforms import Platform, runs_natively
from ci.core.summary import FailedTest, unit_tests_section
from ci.images import golang
from ci.images.builder import ImageBuilder, Plan
from ci.images.golang import SOURCE_DIR
from ci.images.source import AntreaSource
from ci.testing import containers
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
    cached_packages: Annotated[
        list[str], Doc("Packages whose results Go's test cache gave (`(cached)`)")
    ] = field()
    summary: Annotated[str, Doc("One line: packages, passed, failed, skipped, duration")] = field()
    markdown: Annotated[
        str, Doc("The outcome as Markdown, each failed test with its first lines of output")
    ] = field()
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
    target: Platform,
    go_image: str,
    caches: GoCacheVolumes,
    source: AntreaSource,
    command: list[str],
) -> _Run:
    """`go test` compiling and running in the target platform."""
    ran = containers.go_test_container(target, go_image, caches, source.directory, command)
    results = ran.directory(containers.RESULTS_DIR)
    json_report = results.file("go-test.json")
    lines = (await json_report.contents()).splitlines()
    return _Run(await ran.exit_code(), lines, json_report, results)


async def _compiled_natively(
    target: Platform,
    go_image: str,
    caches: GoCacheVolumes,
    source: AntreaSource,
    selection: TestSelection,
) -> _Run:
    """Test binaries compiled on the engine's platform for the target, run in the target."""
    packages, run, coverage = list(selection.packages), selection.run, selection.coverage
    build_flags, test_flags = split_flags(selection.extra_flags)
    builder = golang.go_builder(go_image, caches)
    listed = containers.list_packages(builder, target, source.directory, packages)
    listed_packages = parse_package_list(await listed.stdout())
    groups = compile_groups(listed_packages, containers.TESTS_DIR)
    compiled = containers.compile_test_binaries(
        builder, target, source.directory, groups, build_flags, coverage
    )
    build_lines = (await compiled.file(containers.BUILD_JSON).contents()).splitlines()
    if containers.BUILD_FAILED in await compiled.entries() and not any(
        '"build-fail"' in line for line in build_lines
    ):
        log = await compiled.file(containers.BUILD_LOG).contents()
        build_lines += log.splitlines()
    tests = compiled.with_new_file(
        "manifest", manifest(groups, SOURCE_DIR, SOURCE_DIR)
    ).with_new_file("flags", "".join(f"{flag}\n" for flag in binary_flags(run, test_flags)))
    ran = containers.run_test_binaries(target, go_image, source.directory, tests, coverage)
    results = ran.directory(containers.RESULTS_DIR)
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


@dataclass(frozen=True)
class TestSelection:
    """Which tests run and how: packages, -run, extra `go test` flags, coverage, race."""

    packages: tuple[str, ...] = tuple(containers.DEFAULT_PACKAGES)
    run: str = ""
    extra_flags: tuple[str, ...] = ()
    coverage: bool = False
    race: str = "auto"


@dataclass(frozen=True)
class UnitTestRunner:
    """Runs Antrea's unit tests of the builder's tree in a target platform."""

    builder: ImageBuilder

    @staticmethod
    def test_caches(plan: Plan, target: Platform) -> GoCacheVolumes:
        """Go's caches for `go test` in the target: the plan's on the engine's platform (the
        ones the portable cache restores and saves), a build cache of the target's own
        elsewhere (arm/v7 on an Arm64 engine)."""
        if target == plan.engine:
            return plan.caches
        build = dag.cache_volume(f"antrea-ci-go-test-{target.slug}")
        return GoCacheVolumes(plan.caches.modules, build)

    async def run(self, platform: Platform | None, selection: TestSelection) -> UnitTests:
        """Run the unit tests in the platform (the engine's when None) and report, whatever
        their outcome."""
        target = await self.builder.target(platform)
        plan = await self.builder.plan(tests_on=target)
        return await self.run_planned(plan, target, selection)

    async def run_planned(
        self, plan: Plan, target: Platform, selection: TestSelection, save: bool = True
    ) -> UnitTests:
        """Run the unit tests of a plan already made in the target, then save Go's cache
        (when save and --cache-to); UnitTestFailure when go test failed without a result."""
        emulated = not runs_natively(target, plan.engine)
        with_race, note = containers.race_decision(target, not emulated, selection.race)
        if emulated:
            compiled_on = str(plan.engine)
            outcome = await _compiled_natively(
                target, plan.go_image, plan.caches, plan.source, selection
            )
        else:
            compiled_on = str(target)
            command = containers.go_test_command(
                list(selection.packages),
                with_race,
                selection.run,
                list(selection.extra_flags),
                selection.coverage,
            )
            outcome = await _go_test(
                target, plan.go_image, self.test_caches(plan, target), plan.source, command
            )
        report = parse_go_test_json(outcome.lines)
        if save:
            await self.builder.save_go_cache(plan)
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
            cached_packages=report.cached_packages,
            summary=report.summary(),
            markdown=unit_tests_section(
                str(target),
                report.count(PASS),
                report.count(FAIL),
                report.count(SKIP),
                f"race detector {'on' if with_race else 'off'}, compiled on {compiled_on}",
                [FailedTest(f"{t.package}.{t.name}", t.output) for t in report.failed_tests],
                len(report.cached_packages),
            ),
            json_report=outcome.json_report,
            junit=dag.directory().with_new_file("junit.xml", junit_xml(report)).file("junit.xml"),
            coverage=outcome.results.file("coverage.out") if selection.coverage else None,
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
