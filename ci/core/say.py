"""Where a run's lines of progress go unless the caller says otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable

# A function that shows one line of progress.
Say = Callable[[str], None]


def to_stderr(line: str) -> None:
    """Print the line on stderr at once."""
    print(line, file=sys.stderr, flush=True)
