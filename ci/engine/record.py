"""What the engine says of a session's commands: run, or served from its cache (pure).

The official CLI's plain progress output ends each span with DONE, CACHED or ERROR
(`Container.withExec CACHED [0.0s]`): the engine's own record of whether a command ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_EXEC_END = re.compile(r"Container\.withExec (DONE|CACHED|ERROR) \[")


@dataclass
class EngineRecord:
    """How many commands (withExec) of a session the engine ran, served from its cache, or
    saw fail."""

    ran: int = 0
    cached: int = 0
    failed: int = 0

    def read(self, line: str) -> None:
        """Count the command a progress line says ended, if it says one did."""
        match = _EXEC_END.search(_ANSI.sub("", line))
        if match is None:
            return
        if match.group(1) == "DONE":
            self.ran += 1
        elif match.group(1) == "CACHED":
            self.cached += 1
        else:
            self.failed += 1

    def summary(self) -> str:
        """One line: `engine: 2 commands ran, 40 served from its cache`."""
        failed = f", {self.failed} failed" if self.failed else ""
        return f"engine: {self.ran} commands ran, {self.cached} served from its cache{failed}"

    def as_dict(self) -> dict[str, int]:
        return {"ran": self.ran, "cached": self.cached, "failed": self.failed}
