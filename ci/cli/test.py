"""`antrea-ci test`: Antrea's Go unit tests in a container of the target platform."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ci.cli import running
from ci.cli.options import (
    SummaryOption,
    TimingsOption,
    build_inputs,
    option,
    platform_value,
    to_build_inputs,
)
from ci.cli.routed import EmulatedEnginesOption, EngineOption, route_one
from ci.cli.running import Said, write_summary, write_timings
from ci.core.inputs import EXTRA_FLAGS, PACKAGES, PLATFORM, RACE, RUN, TEST_INPUTS
from ci.core.say import to_stderr
from ci.core.summary import FailedTest, RunSummary, unit_tests_section
from ci.core.timings import StageTimes, progress_line
from ci.engine.record import EngineRecord
from ci.engine.session import engine_connection
from ci.images.builder import ImageBuilder
from ci.testing.containers import RACE_MODES
from ci.testing.gotest import parse_go_test_json
from ci.testing.unit_tests import TestSelection, UnitTestRunner


@build_inputs(*TEST_INPUTS)
def test(
    inputs: dict[str, Any],
    platform: Annotated[str, option(PLATFORM)] = PLATFORM.default,
    packages: Annotated[list[str] | None, option(PACKAGES)] = None,
    run: Annotated[str, option(RUN)] = RUN.default,
    extra_flags: Annotated[list[str] | None, option(EXTRA_FLAGS)] = None,
    race: Annotated[str, option(RACE)] = RACE.default,
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML report here.")] = None,
    coverage: Annotated[Path | None, typer.Option(help="Write a coverage profile here.")] = None,
    engine: EngineOption = None,
    emulated_engines: EmulatedEnginesOption = False,
    timings: TimingsOption = None,
    summary: SummaryOption = None,
) -> None:
    """Run Antrea's Go unit tests in a container; exit 1 when a test fails."""
    target = platform_value(platform)
    if engine:
        target = route_one(target, engine, emulated_engines)
    if race not in RACE_MODES:
        raise typer.BadParameter(f"{race!r}: expected {', '.join(RACE_MODES)}", param_hint="--race")
    selection = TestSelection(
        tuple(packages or TestSelection.packages),
        run,
        tuple(extra_flags or ()),
        coverage is not None,
        race,
    )
    failed: list[str] = []
    times = StageTimes("test")
    record = EngineRecord()
    said = Said()
    report = RunSummary("antrea-ci test", times)

    async def main() -> None:
        async with engine_connection(record):
            started = time.monotonic()
            runner = UnitTestRunner(ImageBuilder(to_build_inputs(inputs), said))
            outcome = await runner.run(target, selection)
            done = times.record(
                outcome.platform, "unit-tests", time.monotonic() - started, outcome.emulated
            )
            to_stderr(progress_line(done))
            if junit:
                await outcome.junit.export(str(junit))
            if coverage and outcome.coverage:
                await outcome.coverage.export(str(coverage))
            how = f"race detector {'on' if outcome.race else 'off'}"
            if outcome.compiled_on != outcome.platform:
                how += f", compiled on {outcome.compiled_on}"
            print(f"{outcome.platform} ({how}): {outcome.summary}")
            if outcome.cached_packages:
                print(f"{len(outcome.cached_packages)} packages' results from Go's test cache")
            if outcome.note:
                print(outcome.note)
            for name in outcome.failures():
                print(f"FAIL {name}")
            failed.extend(outcome.failures())
            tests = parse_go_test_json((await outcome.json_report.contents()).splitlines())
            report.title = f"antrea-ci test {outcome.platform}"
            report.sections.append(
                unit_tests_section(
                    outcome.platform,
                    outcome.passed,
                    outcome.failed,
                    outcome.skipped,
                    how,
                    [FailedTest(f"{t.package}.{t.name}", t.output) for t in tests.failed_tests]
                    + [FailedTest(p.name or "(build)", p.output) for p in tests.failed_packages],
                    len(outcome.cached_packages),
                )
            )

    running.run(main)
    times.engine = record.as_dict()
    to_stderr(record.summary())
    write_timings(times, timings)
    report.notes = [record.summary(), *said.notes()]
    write_summary(report, summary)
    if failed:
        raise typer.Exit(1)
