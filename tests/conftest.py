"""Shared fixtures: the offline test bed's engine and registries, required, never skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator

import dagger
import pytest

from ci.engine.session import engine_connection
from tests.support.testbed import OfflineTestBed, require_testbed


def _run_order(item: pytest.Item) -> int:
    """0 for tests that kill the engine (which then drops its cache: nothing is cached yet),
    1 for those that restart it (no connection of the session is open yet), 2 for the rest."""
    if item.get_closest_marker("kills_engine") is not None:
        return 0
    restarts = ("restarts_engine", "host_binfmt")
    return 1 if any(item.get_closest_marker(name) for name in restarts) else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that kill, then those that restart the engine, run first (stable otherwise)."""
    items.sort(key=_run_order)


@pytest.fixture(scope="session")
def testbed() -> OfflineTestBed:
    """The offline test bed; a test that needs it fails when it is not up."""
    return require_testbed()


@pytest.fixture(scope="session")
async def engine(testbed: OfflineTestBed) -> AsyncIterator[OfflineTestBed]:
    """An open connection to the test bed's engine; `dagger.dag` is usable inside."""
    async with engine_connection():
        yield testbed


def _exec_errors(error: BaseException) -> list[dagger.ExecError]:
    """The ExecErrors inside an exception, its causes and exception groups."""
    found: list[dagger.ExecError] = []
    if isinstance(error, dagger.ExecError):
        found.append(error)
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found += _exec_errors(inner)
    if error.__cause__ is not None:
        found += _exec_errors(error.__cause__)
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Show the command, stdout and stderr of a failed exec in the engine."""
    report = yield
    if call.excinfo is not None:
        for error in _exec_errors(call.excinfo.value):
            report.sections.append(
                (
                    f"exec in the engine: {' '.join(error.command)[:200]}",
                    f"exit code {error.exit_code}\n--- stdout\n{error.stdout[-4000:]}\n"
                    f"--- stderr\n{error.stderr[-4000:]}",
                )
            )
    return report
