"""Where a run's lines of progress go unless the caller says otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable

# A function that shows one line of progress.
Say = Callable[[str], None]


def to_stderr(line: str) -> None:
    """Write the line and its newline to stderr in one write, at once: the Dagger CLI's
    progress shares stderr, and a line printed in two writes can be cut by it (seen: a
    `versions:` line with engine log output between its text and its newline)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
