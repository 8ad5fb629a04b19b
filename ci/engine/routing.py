"""A command's platforms on several engines: one antrea-ci process per engine (the SDK reads
the runner host once per process, and `dag` is one connection per process), run side by
side, each one's stderr passed on under its engine's name and its stdout kept.

With hold, each process stops before its first push, says READY on stdout and reads one
line: GO lets it push; anything else (its stdin closed) calls it off. The processes are
told GO only once every one of them is ready: nothing is pushed until every platform was
built and its images ran on it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import anyio
from anyio.abc import ByteReceiveStream, Process
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ci.core.engines import RUNNER_VARIABLE, EngineGroup
from ci.core.say import Say, to_stderr

READY = "antrea-ci: built and gated, ready to push"
GO = "push"
LINE_BYTES = 1 << 20
# How antrea-ci runs itself in a child process.
ANTREA_CI = [sys.executable, "-m", "ci.cli"]


class RoutedFailure(RuntimeError):
    """A process of a routed run failed: which engine, which command, its last error."""


def engine_environment(runner_host: str) -> dict[str, str]:
    """This process's environment, pointed at the engine (the default one for "")."""
    env = dict(os.environ)
    if runner_host:
        env[RUNNER_VARIABLE] = runner_host
    return env


async def lines(stream: ByteReceiveStream) -> AsyncIterator[str]:
    """The stream's lines, without their newlines, until it ends."""
    buffered = BufferedByteReceiveStream(stream)
    while True:
        try:
            line = await buffered.receive_until(b"\n", LINE_BYTES)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            return
        yield line.decode(errors="replace")


@dataclass
class EngineJob:
    """One antrea-ci command for the platforms of one engine."""

    group: EngineGroup
    arguments: list[str]
    stdout: list[str] = field(default_factory=list)
    last_error: str = ""  # its last `error:` line, else its last line, on stderr
    ready: bool = False
    returncode: int | None = None

    @property
    def name(self) -> str:
        return f"{self.arguments[0]} {','.join(map(str, self.group.platforms))}"

    def failure(self) -> str:
        """One line: the engine, the command and what it last said on stderr."""
        said = f": {self.last_error}" if self.last_error else ""
        return f"{self.name} on {self.group.label} failed (exit {self.returncode}){said}"


class EngineFleet:
    """Runs jobs side by side, each in a process pointed at its engine."""

    def __init__(self, say: Say = to_stderr, command: Sequence[str] = ANTREA_CI) -> None:
        self._say = say
        self._command = list(command)

    async def _pass_on(self, job: EngineJob, stream: ByteReceiveStream) -> None:
        said_error = False
        async for line in lines(stream):
            text = line.strip()
            if text.startswith("error: ") or (text and not said_error):
                said_error = said_error or text.startswith("error: ")
                job.last_error = text.removeprefix("error: ")
            self._say(f"[{job.group.label}] {line}")

    async def _run(
        self,
        job: EngineJob,
        processes: dict[int, Process],
        news: MemoryObjectSendStream[EngineJob],
        hold: bool,
    ) -> None:
        process = await anyio.open_process(
            [*self._command, *job.arguments],
            stdin=subprocess.PIPE if hold else subprocess.DEVNULL,
            env=engine_environment(job.group.runner_host),
        )
        processes[id(job)] = process
        async with process, anyio.create_task_group() as streams:
            assert process.stdout is not None and process.stderr is not None  # pipes
            streams.start_soon(self._pass_on, job, process.stderr)
            async for line in lines(process.stdout):
                if hold and line == READY:
                    job.ready = True
                    news.send_nowait(job)
                else:
                    job.stdout.append(line)
            job.returncode = await process.wait()
        news.send_nowait(job)

    async def run(self, jobs: Sequence[EngineJob], hold: bool = False) -> None:
        """Run every job to its end; RoutedFailure naming each one that failed. With hold,
        GO is sent once all are ready; once one ended before that, every job is called
        off (its stdin closed) as soon as it is ready."""
        processes: dict[int, Process] = {}
        # Each job sends at most twice (ready, ended): the buffer never blocks a sender.
        news, heard = anyio.create_memory_object_stream[EngineJob](2 * len(jobs))
        async with anyio.create_task_group() as group:
            for job in jobs:
                group.start_soon(self._run, job, processes, news, hold)
            if hold:
                await self._release(jobs, processes, heard)
        failed = [job.failure() for job in jobs if job.returncode != 0]
        if failed:
            raise RoutedFailure("; ".join(failed))

    async def _release(
        self,
        jobs: Sequence[EngineJob],
        processes: dict[int, Process],
        heard: MemoryObjectReceiveStream[EngineJob],
    ) -> None:
        """Tell each held job GO, or call it off, as soon as that is decided and it is
        ready; until every job ended."""
        verdict: str | None = None
        told: set[int] = set()
        async for _ in heard:
            if verdict is None and any(job.returncode is not None for job in jobs):
                verdict = ""
            elif verdict is None and all(job.ready for job in jobs):
                verdict = GO
            for job in jobs:
                if verdict is None or id(job) in told or not job.ready:
                    continue
                told.add(id(job))
                await self._tell(processes[id(job)], job, verdict)
            if all(job.returncode is not None for job in jobs):
                return

    @staticmethod
    async def _tell(process: Process, job: EngineJob, word: str) -> None:
        """Send word (none: called off) to a running process, then close its stdin."""
        if process.stdin is None or job.returncode is not None:
            return
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            if word:
                await process.stdin.send(f"{word}\n".encode())
            await process.stdin.aclose()
