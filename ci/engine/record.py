"""What the engine says of a session's commands: run, or served from its cache (pure).

The official CLI's plain progress output names each step with a number, starts a command
with `12  : withExec sh -ec ...` and ends it with DONE, CACHED or ERROR
(`12  : Container.withExec CACHED [0.0s]`; the same end may be printed again): the
engine's own record of whether a command ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_STEP = re.compile(r"^(\d+)\s*:[\s┆│]*(.*)$")
_END = re.compile(r"^Container\.withExec (DONE|CACHED|ERROR) \[")
_START = re.compile(r"^withExec (.*)$")
RAN, CACHED, FAILED = "DONE", "CACHED", "ERROR"


@dataclass
class EngineRecord:
    """The commands (withExec) of a session: which the engine ran, which its cache served,
    which failed."""

    commands: dict[str, str] = field(default_factory=dict)
    ends: dict[str, str] = field(default_factory=dict)

    def read(self, line: str) -> None:
        """Note the command a progress line starts or ends, if it is about one."""
        step = _STEP.match(_ANSI.sub("", line).rstrip())
        if step is None:
            return
        number, text = step.groups()
        if end := _END.match(text):
            self.ends[number] = end.group(1)
        elif start := _START.match(text):
            self.commands.setdefault(number, start.group(1))

    def count(self, end: str) -> int:
        return sum(1 for state in self.ends.values() if state == end)

    @property
    def ran(self) -> list[str]:
        """The commands the engine ran (not served from its cache), as it printed them."""
        return [self.commands.get(n, "?") for n, state in self.ends.items() if state == RAN]

    def summary(self) -> str:
        """One line: `engine: 2 commands ran, 40 served from its cache`."""
        failed = self.count(FAILED)
        return (
            f"engine: {self.count(RAN)} commands ran, {self.count(CACHED)} served from its "
            f"cache{f', {failed} failed' if failed else ''}"
        )

    def as_dict(self) -> dict[str, int]:
        return {"ran": self.count(RAN), "cached": self.count(CACHED), "failed": self.count(FAILED)}
