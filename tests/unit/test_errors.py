"""One-line reasons from engine errors, without an engine."""

from __future__ import annotations

from ci.core.errors import SILENT_EXEC_HINT, distinct, first_line, silent_exec_hint


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
