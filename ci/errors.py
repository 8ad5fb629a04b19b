"""Turning engine errors into one-line reasons (pure, no engine)."""

from __future__ import annotations


def first_line(text: str, default: str = "no detail") -> str:
    """The first line of an error's text, or the default when it has none."""
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else default


SILENT_EXEC_HINT = (
    "hint: the command failed without a word. If it ran on an emulated platform, the engine "
    "may be emulating with its own QEMU, which cannot run a program named without its path: "
    "that happens when the engine started before the host's binfmt handlers were registered. "
    "Register them (update-binfmts, or docker/setup-qemu-action), restart the engine, and "
    "see `antrea-ci doctor`."
)


def silent_exec_hint(stdout: str, stderr: str) -> str:
    """A hint for an exec that failed printing nothing (else ""): a sign of a broken emulator."""
    return "" if stdout.strip() or stderr.strip() else SILENT_EXEC_HINT
