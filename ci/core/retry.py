"""When a push is worth another attempt, and how long to wait first (pure, no network).

Transient failures (a registry's 5xx, 429 Too Many Requests, a connection reset or timed
out) are retried with a bounded exponential backoff; refusals (401, 403), missing
manifests (404), bad requests (400) and digest mismatches are reported at once.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import anyio
import httpx

# Attempts in all (the first one included), the first wait, the longest wait, the longest
# wait a Retry-After header may ask for, and the time all attempts of one operation may take.
ATTEMPTS = 5
BASE_DELAY = 0.5
MAX_DELAY = 8.0
RETRY_AFTER_CAP = 8.0
TOTAL_SECONDS = 30.0

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# What the engine says when a registry or the network failed for a moment (lowercase).
_TRANSIENT_PATTERNS = (
    re.compile(r"\b(?:500|502|503|504) (?:internal|bad gateway|service|gateway)"),
    re.compile(r"status(?: code)?[:=]? ?(?:500|502|503|504)\b"),
    re.compile(r"status(?: code)?[:=]? ?429\b|too many requests|toomanyrequests"),
    re.compile(r"internal server error|bad gateway|service unavailable|gateway timeout"),
    re.compile(r"connection reset|connection refused|broken pipe|unexpected eof|\beof\b"),
    re.compile(r"i/o timeout|timed out|timeout|deadline exceeded|tls handshake timeout"),
    re.compile(r"server closed idle connection|connection closed|use of closed network"),
)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one operation."""

    attempts: int = ATTEMPTS
    base_delay: float = BASE_DELAY
    max_delay: float = MAX_DELAY
    retry_after_cap: float = RETRY_AFTER_CAP
    total_seconds: float = TOTAL_SECONDS

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait after failed attempt number `attempt` (1-based): base * 2^(attempt-1)
        up to max_delay, or what Retry-After asked for, up to retry_after_cap."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        return min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt - 1))


DEFAULT_POLICY = RetryPolicy()


class Transient(Exception):
    """A failure worth another attempt: why, and how long the server asked to wait."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.attempts = 1


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is a transient failure (5xx of an overloaded server, 429)."""
    return status in RETRYABLE_STATUSES


def retryable_exception(error: BaseException) -> bool:
    """Whether an httpx error is a network failure worth another attempt: a timeout, a
    connection refused, reset or closed before the answer (not a bad URL or protocol use)."""
    transient = httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
    return isinstance(error, transient)


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """The wait a Retry-After header asks for, in seconds (delta-seconds or an HTTP date);
    None when absent or unreadable."""
    if header is None or not header.strip():
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


# Where the engine's messages carry random text (upload sessions, their base64 state,
# digests) that could spell a status code or a word by chance.
_URL = re.compile(r'"?\b[a-z][a-z0-9+.-]*://[^\s"]*"?')
_DIGEST = re.compile(r"\bsha256:[0-9a-f]{64}\b")
# What the engine says when the registry refused the credentials (lowercase).
_REFUSAL = re.compile(r"\b401\b|unauthorized|authentication required|\bdenied\b")


def _words(message: str) -> str:
    """The message in lowercase, its URLs and digests replaced by placeholders."""
    return _DIGEST.sub("<digest>", _URL.sub("<url>", message.lower()))


_URL_QUERY = re.compile(r'(\b[a-z][a-z0-9+.-]*://[^\s"?]*)\?[^\s"]*', re.IGNORECASE)


def without_queries(message: str) -> str:
    """The message with its URLs' query strings cut to '?...' (an upload session's base64
    state is long and says nothing to a user)."""
    return _URL_QUERY.sub(r"\1?...", message)


def transient_reason(message: str) -> str | None:
    """The part of an engine error's message that shows a transient registry or network
    failure (a 5xx, 429, a reset connection, EOF, a timeout), else None."""
    words = _words(message)
    for pattern in _TRANSIENT_PATTERNS:
        found = pattern.search(words)
        if found:
            return found.group(0)
    return None


def refusal_reason(message: str) -> str | None:
    """The part of an engine error's message that shows the registry refused the
    credentials (401, unauthorized, access denied), else None."""
    found = _REFUSAL.search(_words(message))
    return found.group(0) if found else None


def give_up_in(policy: RetryPolicy, attempt: int, elapsed: float, wait: float) -> bool:
    """Whether to stop after failed attempt `attempt`: no attempts left, or waiting would
    pass the policy's total time."""
    return attempt >= policy.attempts or elapsed + wait > policy.total_seconds


async def retry(
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy = DEFAULT_POLICY,
    on_retry: Callable[[int, int, str], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run operation until it returns, retrying while it raises Transient.

    on_retry(next attempt, attempts, reason) is called before each wait. When the attempts
    or the time run out, the last Transient is raised with its `attempts` set; any other
    exception passes through at once.
    """
    started = clock()
    attempt = 1
    while True:
        try:
            return await operation()
        except Transient as failure:
            failure.attempts = attempt
            wait = policy.delay(attempt, failure.retry_after)
            if give_up_in(policy, attempt, clock() - started, wait):
                raise
            attempt += 1
            if on_retry is not None:
                on_retry(attempt, policy.attempts, failure.reason)
            await sleep(wait)
