"""The connection to the Dagger engine that antrea-ci's fronts open (client mode)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import dagger

from ci.core.errors import leaves, lost_engine_reason

LOGS_VARIABLE = "ANTREA_CI_ENGINE_LOGS"
SILENT_VARIABLE = "DAGGER_SILENT"


def parent_of(stat: str) -> int:
    """The parent pid in a /proc/<pid>/stat line (the name in parentheses may hold spaces)."""
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_session_command(argv: list[str]) -> bool:
    """Whether a command line is a Dagger CLI's `dagger session` (what the SDK starts)."""
    return len(argv) > 1 and Path(argv[0]).name.startswith("dagger") and argv[1] == "session"


def _own_sessions(proc: Path = Path("/proc")) -> list[int]:
    """The `dagger session` processes this process started (none where there is no /proc)."""
    found = []
    for entry in proc.glob("[0-9]*"):
        try:
            parent = parent_of((entry / "stat").read_text())
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and is_session_command(argv):
            found.append(int(entry.name))
    return found


def end_sessions() -> None:
    """Kill the sessions this process started. The official CLI's session waits on a dead
    engine for good (SIGTERM included) and the SDK waits 300 s for it to exit."""
    for pid in _own_sessions():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _silent_unless(verbose: bool) -> Iterator[None]:
    """While the session starts: a silent one (DAGGER_SILENT) when nobody reads its logs.
    The official CLI otherwise renders every span and log line, for the SDK to drop."""
    before = os.environ.get(SILENT_VARIABLE)
    if not verbose and before is None:
        os.environ[SILENT_VARIABLE] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SILENT_VARIABLE, None)


@contextlib.asynccontextmanager
async def engine_connection() -> AsyncIterator[None]:
    """A connection to the engine (`dagger.dag` usable inside); its logs go to stderr when
    ANTREA_CI_ENGINE_LOGS is set. When the engine went away, the session ends at once and
    that loss is what is raised, not the session's death that follows."""
    verbose = bool(os.environ.get(LOGS_VARIABLE))
    lost: BaseException | None = None
    try:
        async with contextlib.AsyncExitStack() as session:
            with _silent_unless(verbose):
                config = dagger.Config(log_output=sys.stderr if verbose else None)
                await session.enter_async_context(dagger.connection(config))
            try:
                yield
            except BaseException as error:
                if any(lost_engine_reason(leaf) for leaf in leaves(error)):
                    lost = error
                    end_sessions()
                raise
    except dagger.SessionError:
        if lost is None:
            raise
        raise lost from lost.__cause__
