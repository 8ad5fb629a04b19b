"""The connection to the Dagger engine that antrea-ci's fronts open (client mode)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import TextIO, cast

import dagger

from ci.core.errors import leaves, lost_engine_reason
from ci.engine.record import EngineRecord

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
def _silent_unless(read: bool) -> Iterator[None]:
    """While the session starts: a silent one (DAGGER_SILENT) when nothing reads its logs.
    The official CLI otherwise renders every span and log line, for the SDK to drop."""
    before = os.environ.get(SILENT_VARIABLE)
    if not read and before is None:
        os.environ[SILENT_VARIABLE] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SILENT_VARIABLE, None)


class SessionLog:
    """Where the session's progress goes: read into an EngineRecord line by line, and
    passed on to stderr when verbose. (The SDK drains the session's output into it from a
    thread of its own.)"""

    def __init__(self, record: EngineRecord, verbose: bool) -> None:
        self._record = record
        self._verbose = verbose
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._record.read(line)
        if self._verbose:
            sys.stderr.write(text)
        return len(text)

    def writelines(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.write(text)

    def flush(self) -> None:
        if self._verbose:
            sys.stderr.flush()


async def _gone_after_the_work() -> bool:
    """Whether the engine went away while the work that needed it was finishing (asked
    once, so that closing the session does not wait on a dead engine); says so."""
    try:
        await dagger.dag.version()
    except Exception as error:
        reason = lost_engine_reason(error)
        if reason is None:
            raise
        sys.stderr.write(
            f"warning: the Dagger engine went away after the work was done ({reason}); "
            "start it again (tests/engine/up on the test bed) before the next command\n"
        )
        return True
    return False


@contextlib.asynccontextmanager
async def engine_connection(record: EngineRecord | None = None) -> AsyncIterator[None]:
    """A connection to the engine (`dagger.dag` usable inside); its logs go to stderr when
    ANTREA_CI_ENGINE_LOGS is set. With a record, what the engine says of each command
    (ran, or served from its cache) is counted into it. When the engine went away, the
    session ends at once and that loss is what is raised, not the session's death that
    follows; when it went away after the body finished (its work done: a publish's pushes
    need no engine), one warning line says so and nothing is raised."""
    verbose = bool(os.environ.get(LOGS_VARIABLE))
    read = record is not None
    log: TextIO | None = None
    if read or verbose:
        log = cast(TextIO, SessionLog(record or EngineRecord(), verbose))
    # What the body raised is kept from the SDK's session, which would take a ValueError
    # (a bad input) thrown into it for its own failure to start, and raised once the
    # session ended; a lost engine is raised rather than the session's death that follows.
    failure: BaseException | None = None
    lost = False
    try:
        async with contextlib.AsyncExitStack() as session:
            with _silent_unless(read or verbose):
                config = dagger.Config(log_output=log)
                await session.enter_async_context(dagger.connection(config))
            try:
                yield
            except BaseException as error:
                failure = error
                lost = any(lost_engine_reason(leaf) for leaf in leaves(error))
            else:
                lost = await _gone_after_the_work()
            if lost:
                end_sessions()
    except dagger.SessionError:
        if not lost:
            raise
    if failure is not None:
        raise failure
