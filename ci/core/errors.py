"""Turning engine errors into one-line reasons (pure, no engine)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagger
from gql.transport import exceptions as transport


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


ENGINE_GONE = (
    "the Dagger engine went away ({reason}): it stopped or was killed. Nothing more was "
    "pushed; start the engine again (tests/engine/up on the test bed) and run the same "
    "command: what its cache kept is reused"
)

# What the SDK raises when it cannot reach the engine any more. Its requests are retried
# (tenacity), so the error may be a RetryError caused by one of these.
_CONNECTION_ERRORS = (
    dagger.TransportError,
    dagger.ClientConnectionError,
    transport.TransportServerError,
    transport.TransportConnectionFailed,
    transport.TransportClosed,
    transport.TransportProtocolError,
)


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside an exception group (nested ones too), or the error itself."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


def distinct(failures: list[BaseException]) -> list[BaseException]:
    """The failures, each once: images built at once that share a failed step (a Go build
    behind the agent, the controller and the flow-aggregator) all fail with its error."""
    seen: set[tuple[object, ...]] = set()
    kept = []
    for failure in failures:
        key: tuple[object, ...] = (type(failure), str(failure))
        if isinstance(failure, dagger.ExecError):
            key += (tuple(failure.command), failure.stdout, failure.stderr)
        if key not in seen:
            seen.add(key)
            kept.append(failure)
    return kept


@contextmanager
def sole_error_unwrapped() -> Iterator[None]:
    """Around a task group: when its tasks failed with one error only (once duplicates are
    dropped), raise that error itself rather than a group holding it."""
    try:
        yield
    except BaseExceptionGroup as group:
        failures = distinct(leaves(group))
        if len(failures) == 1:
            raise failures[0] from None
        raise


def lost_engine_reason(error: BaseException) -> str | None:
    """Why the engine could not be reached, when that is what the error (or what caused
    it) says; None for any other error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _CONNECTION_ERRORS):
            return first_line(str(current), type(current).__name__)
        current = current.__cause__ or current.__context__
    return None
