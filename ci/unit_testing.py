"""Antrea's Go unit tests in a target platform, and their typed report."""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import Doc, dag, field, object_type

from ci.build import ImageBuilder
from ci.gotest import FAIL, PASS, SKIP, junit_xml, parse_go_test_json
from ci.images import unit_tests as unit_tests_recipe


class UnitTestFailure(RuntimeError):
    """Unit tests that failed; the message names them."""


@object_type
class UnitTests:
    """The outcome of Antrea's Go unit tests on one platform."""

    platform: Annotated[str, Doc("The platform the tests ran on")] = field()
    race: Annotated[bool, Doc("Whether the race detector was on")] = field()
    emulated: Annotated[bool, Doc("Whether the engine emulated the platform")] = field()
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
    command = unit_tests_recipe.go_test_command(
        packages or unit_tests_recipe.DEFAULT_PACKAGES, with_race, run, extra_flags, coverage
    )
    ran = unit_tests_recipe.run_unit_tests(target, go_image, source.directory, command)
    results = ran.directory(unit_tests_recipe.RESULTS_DIR)
    json_report = results.file("go-test.json")
    report = parse_go_test_json((await json_report.contents()).splitlines())
    if await ran.exit_code() != 0 and report.ok:
        raise UnitTestFailure(
            f"go test failed on {target} without a test result: {report.summary()}"
        )
    # dagger's field() is not a dataclass field specifier mypy knows.
    return UnitTests(  # type: ignore[call-arg]
        platform=str(target),
        race=with_race,
        emulated=emulated,
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
        json_report=json_report,
        junit=dag.directory().with_new_file("junit.xml", junit_xml(report)).file("junit.xml"),
        coverage=results.file("coverage.out") if coverage else None,
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
