"""A registry that authenticates like Docker Hub and ghcr.io, for the merge's registry client.

Debian's docker-registry (the real registry) with token auth: a token service issues RS256
JWTs (signed with openssl) granting per-user actions, and blob reads are redirected to
another host (the registry's redirect storage middleware, as a CDN does), served by a
static file server over the registry's storage.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

SERVICE = "antrea-ci-token-registry"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    """Issues tokens: each user gets the actions listed for them, among those asked for."""

    key: Path
    certificate_der: bytes  # sent in each token's x5c header
    users: dict[str, tuple[str, set[str]]]  # user -> (password, allowed actions)
    issued: list[str] = field(default_factory=list)  # the scopes tokens were issued for

    def token(self, user: str, scope: str) -> str:
        _, allowed = self.users[user]
        access = []
        if scope:
            kind, name, actions = scope.split(":")
            granted = [action for action in actions.split(",") if action in allowed]
            access.append({"type": kind, "name": name, "actions": granted})
        x5c = [base64.b64encode(self.certificate_der).decode()]
        header = {"typ": "JWT", "alg": "RS256", "x5c": x5c}
        now = int(time.time())
        claims = {
            "iss": SERVICE,
            "sub": user,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signed = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signed.encode(),
            capture_output=True,
            check=True,
        ).stdout
        self.issued.append(f"{user} {scope}")
        return f"{signed}.{_b64(signature)}"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
                user, _, password = base64.b64decode(encoded).decode().partition(":")
                known = service.users.get(user)
                if scheme != "Basic" or not known or known[0] != password:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": service.token(user, query.get("scope", [""])[0])})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@dataclass
class TokenRegistry:
    """Where the registry listens and what its token service and blob host saw."""

    address: str
    tokens: TokenService
    redirected_reads: list[str]


def _serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


@contextmanager
def token_registry(
    workdir: Path, users: dict[str, tuple[str, set[str]]]
) -> Iterator[TokenRegistry]:
    """Run the registry, its token service and its blob host until the block ends."""
    key, certificate = workdir / "token.key", workdir / "token.crt"
    subprocess.run(
        [
            *["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
            *["-subj", f"/CN={SERVICE}", "-keyout", str(key), "-out", str(certificate)],
        ],
        capture_output=True,
        check=True,
    )
    der = subprocess.run(
        ["openssl", "x509", "-in", str(certificate), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    tokens = TokenService(key, der, users)
    token_server = ThreadingHTTPServer(("127.0.0.1", 0), tokens.handler())

    storage = workdir / "storage"
    storage.mkdir()
    redirected: list[str] = []

    class BlobHost(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            redirected.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    blob_server = ThreadingHTTPServer(("127.0.0.1", 0), partial(BlobHost, directory=str(storage)))
    port = _free_port()
    config = workdir / "config.yml"
    config.write_text(
        f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
http:
  addr: 127.0.0.1:{port}
auth:
  token:
    realm: http://127.0.0.1:{token_server.server_port}/token
    service: {SERVICE}
    issuer: {SERVICE}
    rootcertbundle: {certificate}
middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://127.0.0.1:{blob_server.server_port}/
"""
    )
    _serve(token_server)
    _serve(blob_server)
    registry_binary = shutil.which("docker-registry")
    assert registry_binary, "docker-registry is missing: run tests/engine/up"
    log = (workdir / "registry.log").open("w")
    process = subprocess.Popen([registry_binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            except urllib.error.HTTPError:
                break  # 401: up, and asking for a token
            except OSError:
                time.sleep(0.1)
        yield TokenRegistry(f"127.0.0.1:{port}", tokens, redirected)
    finally:
        process.terminate()
        process.wait(timeout=10)
        token_server.shutdown()
        blob_server.shutdown()
        log.close()
