"""How a command runs: connected to the engine, its errors said in one line each, its
stage timings written for `antrea-ci baseline compare`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import dagger
import typer

from ci.core.engines import EngineRouteError
from ci.core.errors import ENGINE_GONE, distinct, leaves, lost_engine_reason, silent_exec_hint
from ci.core.gate import GateFailure
from ci.core.platforms import PlatformError
from ci.core.references import ImageReferenceError
from ci.core.say import to_stderr
from ci.core.summary import RunSummary, append
from ci.core.timings import StageTimes
from ci.core.versions import SourceError
from ci.engine.routing import RoutedFailure
from ci.images.builder import BuildFailure, ImageError
from ci.images.docker_load import DockerLoadError
from ci.images.ovs import OvsTarballError
from ci.release.push import PublishError
from ci.testing.containers import RaceDetectorUnavailable
from ci.testing.unit_tests import UnitTestFailure

# Errors the user can fix: each ends in one line and exit 1.
USER_ERRORS = (
    PlatformError,
    SourceError,
    ImageError,
    UnitTestFailure,
    RaceDetectorUnavailable,
    BuildFailure,
    PublishError,
    ImageReferenceError,
    OvsTarballError,
    DockerLoadError,
    GateFailure,
    EngineRouteError,
    RoutedFailure,
)


class Said:
    """Says each line (on stderr) and keeps those a summary repeats: the Go cache's, the
    tags left as they were, the warnings."""

    def __init__(self) -> None:
        self.kept: list[str] = []

    def __call__(self, line: str) -> None:
        to_stderr(line)
        if line.startswith(("go cache:", "warning:")) or "unchanged, not pushed again" in line:
            self.kept.append(line)

    def notes(self) -> list[str]:
        return [line for line in self.kept if "unchanged, not pushed again" not in line]

    def unchanged(self) -> list[str]:
        return [line for line in self.kept if "unchanged, not pushed again" in line]


def write_summary(summary: RunSummary, path: Path | None) -> None:
    """Add the run's summary to the file, when there is one (GitHub's job summary)."""
    if path is not None:
        append(path, summary.markdown())


def write_timings(times: StageTimes, path: Path | None) -> None:
    """Write the run's timings for `antrea-ci baseline compare`."""
    target = path or Path("timings") / f"{times.command}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(times.to_json())
    to_stderr(f"timings in {target}")


def _say_failure(failure: BaseException) -> None:
    to_stderr(f"error: {failure}")
    if isinstance(failure, dagger.ExecError):
        to_stderr(f"command: {' '.join(failure.command)}")
        to_stderr(failure.stderr.rstrip()[-4000:])
        hint = silent_exec_hint(failure.stdout, failure.stderr)
        if hint:
            to_stderr(hint)


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run an async entry point; errors the user can fix end in one line each and exit 1,
    a lost engine in one line whatever else failed with it."""
    try:
        anyio.run(main)
    except Exception as error:
        failures = distinct(leaves(error))
        lost = [reason for reason in map(lost_engine_reason, failures) if reason]
        if lost:
            to_stderr(f"error: {ENGINE_GONE.format(reason=lost[0])}")
            raise typer.Exit(1) from None
        if not all(isinstance(f, (*USER_ERRORS, dagger.DaggerError)) for f in failures):
            raise
        for failure in failures:
            _say_failure(failure)
        raise typer.Exit(1) from None
