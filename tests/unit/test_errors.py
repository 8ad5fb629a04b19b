"""One-line reasons from engine errors, without an engine."""

from __future__ import annotations

from ci.errors import first_line


def test_first_line_of_a_multi_line_error() -> None:
    assert first_line("\n  pull failed: 404\nstack trace...\n") == "pull failed: 404"


def test_default_when_the_error_has_no_text() -> None:
    assert first_line("  \n") == "no detail"
    assert first_line("", "RuntimeError()") == "RuntimeError()"
