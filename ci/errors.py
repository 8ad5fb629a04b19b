"""Turning engine errors into one-line reasons (pure, no engine)."""

from __future__ import annotations


def first_line(text: str, default: str = "no detail") -> str:
    """The first line of an error's text, or the default when it has none."""
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else default
