"""A fault-injecting HTTP/1.1 reverse proxy in front of the test bed's registries.

    async with FaultProxy("127.0.0.1:5310", Faults(error_share=0.3), seed=7) as proxy:
        ...push to proxy.address...
    print(proxy.stats.summary())

It listens on 127.0.0.1 and forwards to a loopback target only. Faults, each with its share
of requests: an answer 500 or 503 without forwarding, 429 with Retry-After, a blob transfer
(upload under /blobs/uploads/, download under /blobs/) cut in the middle of its body, and a
delay before the answer. Every decision comes from random.Random seeded with the seed, the
kind of request (method and path, less the repository and upload session) and how many of
that kind came before, so a run replays: exactly for a client that sends one request at a
time, and with the same decisions per kind of request for concurrent ones. It stops itself
after max_requests requests or max_seconds seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

_LOOPBACK_HOSTS = re.compile(r"^(127(?:\.[0-9]+){3}|localhost)$")
_API_PATH = re.compile(r"^/v2/(?:.+/)?(manifests|blobs)/(.*)$")
_UPLOAD_SESSION = re.compile(r"^uploads/[^/?]*")
_COPY_SIZE = 64 * 1024
_HEAD_LIMIT = 64 * 1024
_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "expect")


@dataclass(frozen=True)
class Faults:
    """What share of requests gets which fault (each between 0 and 1)."""

    error_share: float = 0.0
    """Answered with one of error_statuses (at random), without forwarding."""
    error_statuses: tuple[int, ...] = (500, 503)
    throttle_share: float = 0.0
    """Answered 429 Too Many Requests with Retry-After, without forwarding."""
    retry_after: int = 1
    """The seconds the 429's Retry-After asks for."""
    cut_share: float = 0.0
    """Blob uploads and downloads whose connection is cut in the middle of the body."""
    delay_share: float = 0.0
    """Answers delayed by delay_seconds."""
    delay_seconds: float = 0.0
    max_faults: int | None = None
    """At most this many error answers, 429s and cuts in all; then every request passes."""


@dataclass
class ProxyStats:
    """What the proxy saw and did: requests, injected faults, one log line per request."""

    requests: int = 0
    forwarded: int = 0
    errors: Counter[int] = field(default_factory=Counter)
    cut_uploads: int = 0
    cut_downloads: int = 0
    delayed: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def faults(self) -> int:
        """Faults injected: error answers, 429s and cut transfers (delays not counted)."""
        return sum(self.errors.values()) + self.cut_uploads + self.cut_downloads

    def summary(self) -> str:
        errors = ", ".join(f"{status}: {n}" for status, n in sorted(self.errors.items()))
        return (
            f"{self.requests} requests, {self.forwarded} forwarded, {self.faults} faults "
            f"(answers {{{errors}}}, cut uploads {self.cut_uploads}, cut downloads "
            f"{self.cut_downloads}), {self.delayed} delayed"
        )


@dataclass
class _Head:
    """The start line and header fields of a request or response, in order."""

    start: str
    fields: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        for key, value in self.fields:
            if key.lower() == name:
                return value
        return None

    def without(self, *names: str) -> list[tuple[str, str]]:
        return [(key, value) for key, value in self.fields if key.lower() not in names]

    def encode(self) -> bytes:
        lines = [self.start, *(f"{key}: {value}" for key, value in self.fields), "", ""]
        return "\r\n".join(lines).encode("latin-1")


@dataclass(frozen=True)
class _Framing:
    """How a message's body ends: a length, chunked, the end of the connection, or none."""

    length: int | None = 0
    chunked: bool = False
    until_eof: bool = False

    @property
    def empty(self) -> bool:
        return not self.chunked and not self.until_eof and not self.length


async def _read_head(reader: asyncio.StreamReader) -> _Head | None:
    """The next message head, or None at a clean end of the connection."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise
    lines = raw.decode("latin-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            fields.append((key.strip(), value.strip()))
    return _Head(lines[0], fields)


def _framing(head: _Head, request: bool, method: str = "", status: int = 0) -> _Framing:
    if not request and (method == "HEAD" or status in (204, 304) or 100 <= status < 200):
        return _Framing()
    if "chunked" in (head.get("transfer-encoding") or "").lower():
        return _Framing(length=None, chunked=True)
    length = head.get("content-length")
    if length is not None:
        return _Framing(length=int(length))
    return _Framing() if request else _Framing(length=None, until_eof=True)


async def _relay(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter | None,
    framing: _Framing,
    cut: bool = False,
) -> bool:
    """Copy a body from reader to writer (None: read and drop it). With cut, stop in the
    middle of it (half a length, half the first chunk); returns whether it was copied whole."""

    async def put(data: bytes) -> None:
        if writer is not None:
            writer.write(data)
            await writer.drain()

    if framing.chunked:
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                await put(line)
                while True:
                    trailer = await reader.readuntil(b"\r\n")
                    await put(trailer)
                    if trailer == b"\r\n":
                        return True
            await put(line)
            if cut:
                await put(await reader.readexactly(max(1, size // 2)))
                return False
            left = size
            while left:
                data = await reader.readexactly(min(left, _COPY_SIZE))
                left -= len(data)
                await put(data)
            await put(await reader.readexactly(2))
    if framing.until_eof:
        while data := await reader.read(_COPY_SIZE):
            await put(data)
        return True
    left = framing.length or 0
    if cut:
        left //= 2
    while left:
        data = await reader.readexactly(min(left, _COPY_SIZE))
        left -= len(data)
        await put(data)
    return not cut


def _kind(method: str, target: str) -> str:
    """A request's kind, for the seeded decisions: method and API path without the
    repository, the upload session and the upload's state."""
    path, _, query = target.partition("?")
    found = _API_PATH.match(path)
    if not found:
        return f"{method} {path}"
    rest = _UPLOAD_SESSION.sub("uploads/", found.group(2))
    digest = re.search(r"(?:^|&)digest=([^&]+)", query)
    return f"{method} {found.group(1)}/{rest}" + (f"?digest={digest.group(1)}" if digest else "")


def _is_upload(method: str, path: str) -> bool:
    return method in ("PUT", "PATCH", "POST") and "/blobs/uploads/" in path


def _is_download(method: str, path: str) -> bool:
    return method == "GET" and "/blobs/" in path and "/blobs/uploads/" not in path


class FaultProxy:
    """The proxy; an async context manager: listening inside, stopped and closed after."""

    def __init__(
        self,
        target: str,
        faults: Faults | None = None,
        seed: int = 0,
        max_requests: int = 2000,
        max_seconds: float = 300.0,
        port: int = 0,
    ) -> None:
        host, _, target_port = target.rpartition(":")
        if not _LOOPBACK_HOSTS.match(host) or not target_port.isdigit():
            raise ValueError(f"the fault proxy forwards to loopback only, not {target!r}")
        self.target = target
        self.faults = faults or Faults()
        self.seed = seed
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.stats = ProxyStats()
        self.stopped_because = ""
        self._target_host = host
        self._target_port = int(target_port)
        self._target_names = {target, f"localhost:{target_port}", f"127.0.0.1:{target_port}"}
        self._port = port
        self._seen: Counter[str] = Counter()
        self._injected = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._deadline: asyncio.TimerHandle | None = None
        self.address = ""

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Listen on 127.0.0.1 (the port given, else an ephemeral one)."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self._port, limit=_HEAD_LIMIT
        )
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        self._deadline = asyncio.get_running_loop().call_later(
            self.max_seconds, self.stop, f"{self.max_seconds:g}s passed"
        )

    def stop(self, because: str = "stopped") -> None:
        """Stop listening and cut every open connection."""
        if not self.stopped_because:
            self.stopped_because = because
        if self._deadline is not None:
            self._deadline.cancel()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def aclose(self) -> None:
        self.stop()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def _decide(self, method: str, target: str, body: bool) -> tuple[str, float]:
        """The fault for this request ("", "500", "503", "429", "cut") and its delay; an
        upload without a body (POST that starts a session) has nothing to cut."""
        kind = _kind(method, target)
        occurrence = self._seen[kind]
        self._seen[kind] += 1
        draw = random.Random(f"{self.seed}|{kind}|{occurrence}")
        error, throttle, cut, delay, status = (draw.random() for _ in range(5))
        wait = self.faults.delay_seconds if delay < self.faults.delay_share else 0.0
        path = target.partition("?")[0]
        if self.faults.max_faults is not None and self._injected >= self.faults.max_faults:
            return "", wait
        fault = self._fault(method, path, body, (error, throttle, cut, status))
        self._injected += bool(fault)
        return fault, wait

    def _fault(
        self, method: str, path: str, body: bool, draws: tuple[float, float, float, float]
    ) -> str:
        """The fault the draws (error, throttle, cut, status) pick for a request ("" for
        none)."""
        error, throttle, cut, status = draws
        if error < self.faults.error_share:
            statuses = self.faults.error_statuses
            return str(statuses[int(status * len(statuses))])
        if throttle < self.faults.throttle_share:
            return "429"
        transfer = (_is_upload(method, path) and body) or _is_download(method, path)
        if transfer and cut < self.faults.cut_share:
            return "cut"
        return ""

    def _location(self, value: str) -> str:
        """A Location that points at the target, made to point at the proxy."""
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc in self._target_names:
            return urlunsplit(("http", self.address, parts.path, parts.query, parts.fragment))
        return value

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while not self.stopped_because:
                head = await _read_head(reader)
                keep = head is not None and await self._answer(head, reader, writer)
                if self.stats.requests >= self.max_requests:
                    self.stop(f"{self.max_requests} requests")
                if not keep:
                    break
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except ValueError as error:
            self.stats.log.append(f"bad message: {error}")
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(
        self, head: _Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; returns whether the connection may carry another."""
        method, target, version = [*head.start.split(" "), "", ""][:3]
        self.stats.requests += 1
        number = self.stats.requests
        keep = version == "HTTP/1.1" and (head.get("connection") or "").lower() != "close"
        framing = _framing(head, request=True)
        fault, wait = self._decide(method, target, body=not framing.empty)
        self.stats.log.append(f"{number} {method} {target} {fault or 'forwarded'}")
        expects = (head.get("expect") or "").lower() == "100-continue"
        if wait:
            self.stats.delayed += 1
        if fault.isdigit():
            if expects:
                keep = False
            else:
                await _relay(reader, None, framing)
            await asyncio.sleep(wait)
            await self._inject(writer, int(fault), keep, method)
            return keep
        if expects:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        path = target.partition("?")[0]
        try:
            upstream_reader, upstream = await asyncio.open_connection(
                self._target_host, self._target_port, limit=_HEAD_LIMIT
            )
        except OSError:
            await _relay(reader, None, framing)
            await self._inject(writer, 502, keep, method)
            return keep
        self._writers.add(upstream)
        try:
            fields = [("Host", self.target), *head.without("host", *_HOP_BY_HOP)]
            upstream.write(_Head(head.start, [*fields, ("Connection", "close")]).encode())
            cut_upload = fault == "cut" and _is_upload(method, path) and not framing.empty
            if not await _relay(reader, upstream, framing, cut=cut_upload):
                self.stats.cut_uploads += 1
                return False
            await upstream.drain()
            self.stats.forwarded += 1
            cut_download = fault == "cut" and _is_download(method, path)
            return await self._respond(upstream_reader, writer, method, cut_download, wait, keep)
        finally:
            self._writers.discard(upstream)
            upstream.close()

    async def _respond(
        self,
        upstream: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        cut_download: bool,
        wait: float,
        keep: bool,
    ) -> bool:
        """Relay the target's answer (a cut download stops in its body)."""
        head = await _read_head(upstream)
        status = int(head.start.split(" ")[1]) if head else 0
        while head is not None and 100 <= status < 200 and status != 101:
            writer.write(head.encode())  # an interim answer (102, 103): relayed as is
            head = await _read_head(upstream)
            status = int(head.start.split(" ")[1]) if head else 0
        if head is None:
            await self._inject(writer, 502, False, method)
            return False
        framing = _framing(head, request=False, method=method, status=status)
        keep = keep and not framing.until_eof
        fields = [
            (key, self._location(value) if key.lower() == "location" else value)
            for key, value in head.without(*_HOP_BY_HOP)
        ]
        fields.append(("Connection", "keep-alive" if keep else "close"))
        await asyncio.sleep(wait)
        writer.write(_Head(head.start, fields).encode())
        cut = cut_download and status == 200 and not framing.empty
        if not await _relay(upstream, writer, framing, cut=cut):
            self.stats.cut_downloads += 1
            return False
        await writer.drain()
        return keep

    async def _inject(
        self, writer: asyncio.StreamWriter, status: int, keep: bool, method: str
    ) -> None:
        """An error answer of our own; to a HEAD without its body (as HTTP wants: a body
        there would be read as the start of the next answer on the connection)."""
        reason = _REASONS.get(status, "Error")
        if status == 502:
            self.stats.log.append("502: the target did not answer")
        else:
            self.stats.errors[status] += 1
        code = "TOOMANYREQUESTS" if status == 429 else "UNAVAILABLE"
        body = json.dumps(
            {"errors": [{"code": code, "message": f"fault injected by the test proxy: {status}"}]}
        ).encode()
        fields = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "keep-alive" if keep else "close"),
        ]
        if status == 429:
            fields.append(("Retry-After", str(self.faults.retry_after)))
        head = _Head(f"HTTP/1.1 {status} {reason}", fields).encode()
        writer.write(head if method == "HEAD" else head + body)
        await writer.drain()
