"""The retry policy of pushes: what is retried, how long it waits (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise

import httpx
import pytest

from ci.core.retry import (
    ATTEMPTS,
    BASE_DELAY,
    DEFAULT_POLICY,
    MAX_DELAY,
    RETRY_AFTER_CAP,
    TOTAL_SECONDS,
    RetryPolicy,
    Transient,
    refusal_reason,
    retry,
    retry_after_seconds,
    retryable_exception,
    retryable_status,
    transient_reason,
    without_queries,
)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_overload_and_server_failures_are_retried(status: int) -> None:
    assert retryable_status(status)


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 405, 501])
def test_refusals_missing_manifests_and_bad_requests_are_not(status: int) -> None:
    assert not retryable_status(status)


def test_network_failures_are_retried_but_not_misuse() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:5310/v2/")
    for error in (
        httpx.ConnectError("refused", request=request),
        httpx.ReadError("connection reset by peer", request=request),
        httpx.WriteError("broken pipe", request=request),
        httpx.ReadTimeout("timed out", request=request),
        httpx.RemoteProtocolError("peer closed connection", request=request),
    ):
        assert retryable_exception(error), error
    assert not retryable_exception(httpx.UnsupportedProtocol("ftp://", request=request))
    assert not retryable_exception(httpx.LocalProtocolError("bad header"))
    assert not retryable_exception(ValueError("digest mismatch"))


def test_the_backoff_doubles_up_to_its_cap() -> None:
    waits = [DEFAULT_POLICY.delay(n) for n in range(1, 8)]
    assert waits[0] == BASE_DELAY
    assert waits == sorted(waits)
    assert all(b == min(MAX_DELAY, 2 * a) for a, b in pairwise(waits))
    assert max(waits) == MAX_DELAY


def test_the_policy_is_bounded() -> None:
    assert 2 <= ATTEMPTS <= 6
    waits = sum(DEFAULT_POLICY.delay(n) for n in range(1, ATTEMPTS))
    assert waits <= TOTAL_SECONDS <= 60


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    assert DEFAULT_POLICY.delay(1, retry_after=3) == 3
    assert DEFAULT_POLICY.delay(4, retry_after=0) == 0
    assert DEFAULT_POLICY.delay(1, retry_after=3600) == RETRY_AFTER_CAP


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(" 0 ") == 0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=12), usegmt=True), now) == 12
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=12), usegmt=True), now) == 0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-3") is None


@pytest.mark.parametrize(
    "message",
    [
        "failed to push 127.0.0.1:5312/x:v1: unexpected status from PUT request to "
        "http://127.0.0.1:5312/v2/x/blobs/uploads/1: 503 Service Unavailable",
        "failed to copy: httpReadSeeker: failed open: unexpected status code "
        "http://127.0.0.1:5312/v2/x/blobs/sha256:ab: 500 Internal Server Error",
        "failed to push: unexpected status: 429 Too Many Requests",
        "failed to do request: Put http://127.0.0.1:5312/v2/x: read tcp: connection reset by peer",
        "failed to copy: unexpected EOF",
        "failed to do request: Head http://127.0.0.1:5312/v2/x: EOF",
        "failed to do request: \nPut http://127.0.0.1:5312/v2/x/blobs/uploads/1: EOF",
        "write tcp 127.0.0.1:1->127.0.0.1:5312: write: broken pipe",
        "dial tcp 10.0.0.1:443: i/o timeout",
        "failed to push: context deadline exceeded",
        "response status code 502: bad gateway",
    ],
)
def test_engine_messages_of_transient_failures_are_recognised(message: str) -> None:
    assert transient_reason(message)


@pytest.mark.parametrize(
    "message",
    [
        "failed to authorize: 401 Unauthorized",
        "push access denied, repository does not exist or may require authorization",
        "failed to push: 404 Not Found: manifest unknown",
        "failed to push: 400 Bad Request: digest invalid: provided digest did not match",
        "failed to push: unexpected status: 403 Forbidden",
        "invalid reference format: repository name must be lowercase",
        "the layer of 500 bytes is not a tarball",
    ],
)
def test_refusals_and_mistakes_are_not_transient(message: str) -> None:
    assert transient_reason(message) is None


# An upload session's URL: its UUID and base64 state are random and may spell 401 or EOF.
SESSION_URL = (
    '"http://127.0.0.1:45335/v2/c/antrea-agent-ubuntu/blobs/uploads/52f1a77c-4010-401a-964a'
    '?_state=1vO0Qs-401-EOF_timeout%3D&digest=sha256%3Aafd18b03"'
)


@pytest.mark.parametrize(
    ("message", "refused", "transient"),
    [
        ("failed to authorize: 401 Unauthorized", "401", None),
        ("push access denied, repository does not exist", "denied", None),
        ("insufficient_scope: authentication required", "authentication required", None),
        (f"failed to do request: Put {SESSION_URL}: EOF", None, "eof"),
        (f"failed to do request: Put {SESSION_URL}: 403 Forbidden", None, None),
        ("failed to push sha256:" + "401a" * 16 + ": 503 Service Unavailable", None, "503 service"),
    ],
)
def test_urls_and_digests_in_a_message_do_not_decide_what_it_means(
    message: str, refused: str | None, transient: str | None
) -> None:
    assert refusal_reason(message) == refused
    assert transient_reason(message) == transient


class FakeTime:
    """A clock that only moves when the retry loop sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def test_a_transient_failure_is_retried_until_it_passes() -> None:
    time = FakeTime()
    notes: list[tuple[int, int, str]] = []
    failures = iter([Transient("503 Service Unavailable"), Transient("429", retry_after=2)])

    async def operation() -> str:
        failure = next(failures, None)
        if failure:
            raise failure
        return "sha256:abc"

    result = await retry(
        operation,
        on_retry=lambda n, of, why: notes.append((n, of, why)),
        sleep=time.sleep,
        clock=time.clock,
    )
    assert result == "sha256:abc"
    assert time.waits == [BASE_DELAY, 2]
    assert notes == [(2, ATTEMPTS, "503 Service Unavailable"), (3, ATTEMPTS, "429")]


async def test_the_retries_stop_after_the_last_attempt() -> None:
    time = FakeTime()
    calls = 0

    async def operation() -> None:
        nonlocal calls
        calls += 1
        raise Transient("connection reset")

    with pytest.raises(Transient) as failed:
        await retry(operation, sleep=time.sleep, clock=time.clock)
    assert calls == ATTEMPTS
    assert failed.value.attempts == ATTEMPTS
    assert len(time.waits) == ATTEMPTS - 1


async def test_the_retries_stop_when_the_time_is_up() -> None:
    time = FakeTime()
    policy = RetryPolicy(attempts=10, base_delay=1, max_delay=4, total_seconds=6)

    async def operation() -> None:
        raise Transient("503")

    with pytest.raises(Transient) as failed:
        await retry(operation, policy, sleep=time.sleep, clock=time.clock)
    assert time.waits == [1, 2]
    assert failed.value.attempts == 3
    assert time.now <= policy.total_seconds


async def test_other_errors_are_not_retried() -> None:
    time = FakeTime()
    calls = 0

    async def operation() -> None:
        nonlocal calls
        calls += 1
        raise PermissionError("401 Unauthorized")

    with pytest.raises(PermissionError):
        await retry(operation, sleep=time.sleep, clock=time.clock)
    assert calls == 1 and time.waits == []


def test_query_strings_of_urls_are_cut_from_what_users_read() -> None:
    message = f"failed commit on ref x: failed to do request: Put {SESSION_URL}: EOF"
    assert without_queries(message) == (
        'failed commit on ref x: failed to do request: Put "http://127.0.0.1:45335/v2/c/'
        'antrea-agent-ubuntu/blobs/uploads/52f1a77c-4010-401a-964a?...": EOF'
    )
