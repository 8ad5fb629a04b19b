"""One-line reasons from engine errors, without an engine."""

from __future__ import annotations

import anyio
import pytest

from ci.core.errors import (
    SILENT_EXEC_HINT,
    distinct,
    first_line,
    silent_exec_hint,
    sole_error_unwrapped,
)


def test_first_line_of_a_multi_line_error() -> None:
    assert first_line("\n  pull failed: 404\nstack trace...\n") == "pull failed: 404"


def test_default_when_the_error_has_no_text() -> None:
    assert first_line("  \n") == "no detail"
    assert first_line("", "RuntimeError()") == "RuntimeError()"


def test_an_exec_that_failed_without_a_word_gets_the_emulator_hint() -> None:
    assert silent_exec_hint("", " \n") == SILENT_EXEC_HINT
    assert "restart the engine" in SILENT_EXEC_HINT
    assert "binfmt" in SILENT_EXEC_HINT


def test_an_exec_that_said_why_it_failed_gets_no_hint() -> None:
    assert silent_exec_hint("", "E: Unable to locate package foo") == ""
    assert silent_exec_hint("partial output", "") == ""


def test_one_failure_shared_by_several_images_is_said_once() -> None:
    shared = ValueError("exit code: 1 [traceparent:b41f]")
    again = ValueError("exit code: 1 [traceparent:b41f]")
    other = ValueError("linux/arm64: exit code: 2")
    assert distinct([shared, again, other, shared]) == [shared, other]


async def _fail(error: Exception) -> None:
    raise error


async def test_a_task_group_that_failed_once_raises_the_error_itself() -> None:
    with pytest.raises(LookupError, match="no-such-image"), sole_error_unwrapped():
        async with anyio.create_task_group() as group:
            group.start_soon(_fail, LookupError("no-such-image"))
            group.start_soon(anyio.sleep, 0)


async def test_a_task_group_that_failed_twice_the_same_way_raises_it_once() -> None:
    with pytest.raises(LookupError), sole_error_unwrapped():
        async with anyio.create_task_group() as group:
            group.start_soon(_fail, LookupError("same"))
            group.start_soon(_fail, LookupError("same"))


async def test_a_task_group_with_two_different_failures_raises_both() -> None:
    with pytest.raises(ExceptionGroup) as raised, sole_error_unwrapped():
        async with anyio.create_task_group() as group:
            group.start_soon(_fail, LookupError("one"))
            group.start_soon(_fail, ValueError("two"))
    assert len(raised.value.exceptions) == 2
