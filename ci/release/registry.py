"""A small client of the registry HTTP API (OCI distribution): read manifests, push an index.

The merge of per-arch images needs what Dagger does not offer: an index that points at the
manifests already in the registry, by digest, without re-exporting them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ci.core.platforms import Platform
from ci.core.references import Repository
from ci.core.reproducible import Blob
from ci.core.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    Transient,
    retry,
    retry_after_seconds,
    retryable_exception,
    retryable_status,
)
from ci.core.say import to_stderr

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPTED = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
LOOPBACK = re.compile(r"^(localhost|127(?:\.[0-9]+){3}|\[::1\])(?::[0-9]+)?$")
_CHALLENGE_PARAM = re.compile(r'([A-Za-z_]+)="([^"]*)"')
T = TypeVar("T")


class RegistryError(RuntimeError):
    """A registry request that failed; refused says the registry turned the credentials down."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Descriptor:
    """One platform's manifest as an index lists it."""

    media_type: str
    digest: str
    size: int
    platform: Platform

    def as_index_entry(self) -> dict[str, Any]:
        platform = {"architecture": self.platform.arch, "os": self.platform.os}
        if self.platform.variant:
            platform["variant"] = self.platform.variant
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
            "platform": platform,
        }


def http_client(timeout: float) -> httpx.AsyncClient:
    """An HTTP client for registries: the system's CAs (not certifi's), so registries behind
    a corporate proxy work too; redirects followed, as Docker Hub and ghcr.io send blob reads
    to a CDN (httpx does not send the Authorization header to another host)."""
    return httpx.AsyncClient(
        timeout=timeout, verify=ssl.create_default_context(), follow_redirects=True
    )


def base_url(registry: str) -> str:
    """Where a registry's API lives: plain HTTP on loopback (as the engine does), else HTTPS."""
    if registry == "docker.io":
        return "https://registry-1.docker.io"
    scheme = "http" if LOOPBACK.match(registry) else "https"
    return f"{scheme}://{registry}"


def loopback_routes(endpoints: Sequence[str]) -> dict[str, str]:
    """Where to reach registries of the caller's loopback from elsewhere (a module's
    container), given the endpoints (http://HOST:PORT) of tunnels to their ports: each
    under the addresses a user writes, 127.0.0.1:PORT and localhost:PORT."""
    routes: dict[str, str] = {}
    for endpoint in endpoints:
        url = endpoint.rstrip("/")
        port = url.rsplit(":", 1)[-1]
        if not port.isdigit():
            raise ValueError(f"a tunnel endpoint without a port: {endpoint!r}")
        for host in ("127.0.0.1", "localhost"):
            routes[f"{host}:{port}"] = url
    return routes


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split a WWW-Authenticate header into its scheme and parameters."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


def digest_of(document: bytes) -> str:
    return "sha256:" + hashlib.sha256(document).hexdigest()


def index_document(entries: Sequence[Descriptor]) -> bytes:
    """The OCI image index listing each platform's manifest, in platform order."""
    ordered = sorted(entries, key=lambda entry: entry.platform)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry.as_index_entry() for entry in ordered],
    }
    return json.dumps(index, indent=2).encode()


def platform_of(document: dict[str, Any]) -> Platform:
    """The platform of an index entry or an image config."""
    fields = document.get("platform", document)
    return Platform(fields.get("os", ""), fields.get("architecture", ""), fields.get("variant", ""))


@dataclass(frozen=True)
class SourceLayer:
    """A layer of an image in a registry: where it is, its diff_id and its descriptor."""

    repository: Repository
    diff_id: str
    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class SourceImage:
    """An image in a registry as another is made on it: its layers, first to last, and its
    config's history."""

    layers: tuple[SourceLayer, ...]
    history: tuple[dict[str, Any], ...]


class RegistryClient:
    """Reads and writes manifests of one registry, with basic or bearer token auth; retries
    transient failures (ci/core/retry.py), printing one line per retry (to stderr by default)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        registry: str,
        username: str = "",
        password: str = "",
        policy: RetryPolicy = DEFAULT_POLICY,
        on_retry: Callable[[str], None] | None = None,
        endpoint: str = "",
    ) -> None:
        self._http = http
        self._registry = registry
        # Where the registry's API is reached, when not at its address (a tunnel).
        self._base_url = endpoint or base_url(registry)
        self._basic = (username, password) if username else None
        self._tokens: dict[str, str] = {}
        self._policy = policy
        self._on_retry = on_retry or to_stderr
        self.retries = 0
        """How many requests were retried (transient failures the client got over)."""

    async def _authorize(self, response: httpx.Response, scope: str) -> str:
        scheme, params = parse_challenge(response.headers.get("www-authenticate", ""))
        if scheme == "basic" and self._basic:
            return "Basic " + base64.b64encode(":".join(self._basic).encode()).decode()
        if scheme == "bearer" and "realm" in params:
            query = {"scope": scope}
            if "service" in params:
                query["service"] = params["service"]
            token = await self._http.get(params["realm"], params=query, auth=self._basic)
            if retryable_status(token.status_code):
                raise Transient(
                    f"the token service of {self._registry} answered {token.status_code} "
                    f"{token.reason_phrase}",
                    retry_after_seconds(token.headers.get("retry-after")),
                )
            if token.status_code != 200:
                raise RegistryError(
                    f"the token service of {self._registry} answered {token.status_code} "
                    f"{token.reason_phrase}",
                    refused=token.status_code in (401, 403),
                )
            body = _json(token, "token")
            return "Bearer " + str(body.get("token") or body.get("access_token"))
        raise self._refused(response)

    def _refused(
        self, response: httpx.Response, repository: Repository | None = None, what: str = ""
    ) -> RegistryError:
        where = f"{self._registry}/{repository.path}" if repository else self._registry
        return RegistryError(
            f"{where} answered {response.status_code} {response.reason_phrase}"
            + (f" to {what}" if what else ""),
            refused=response.status_code in (401, 403),
        )

    async def _send(
        self, method: str, repository: Repository, path: str, what: str, **kwargs: Any
    ) -> httpx.Response:
        """One request, retried while it fails for a moment (5xx, 429, a reset connection);
        a refusal raises at once, the last transient failure once the retries run out."""

        async def attempt() -> httpx.Response:
            response = await self._send_once(method, repository, path, what, **kwargs)
            if retryable_status(response.status_code):
                raise Transient(
                    f"{self._registry} answered {response.status_code} {response.reason_phrase}",
                    retry_after_seconds(response.headers.get("retry-after")),
                )
            return response

        return await self._retried(attempt, repository, what)

    async def _retried(
        self, attempt: Callable[[], Awaitable[T]], repository: Repository, what: str
    ) -> T:
        """The attempt, made again (a line each time) while it raises Transient."""

        def note(next_attempt: int, attempts: int, reason: str) -> None:
            self.retries += 1
            self._on_retry(
                f"retrying {what} of {self._registry}/{repository.path} "
                f"(attempt {next_attempt}/{attempts}): {reason}"
            )

        try:
            return await retry(attempt, self._policy, on_retry=note)
        except Transient as failure:
            raise RegistryError(
                f"{what} of {self._registry}/{repository.path} failed after "
                f"{failure.attempts} attempt(s): {failure.reason}"
            ) from None

    async def _send_once(
        self,
        method: str,
        repository: Repository,
        path: str,
        what: str,
        url: httpx.URL | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request to the repository's path (or to url, where the registry sent us)."""
        target = url or f"{self._base_url}/v2/{repository.path}/{path}"
        writes = method in ("PUT", "POST")
        scope = f"repository:{repository.path}:pull" + (",push" if writes else "")
        headers = dict(kwargs.pop("headers", {}))
        if scope in self._tokens:
            headers["Authorization"] = self._tokens[scope]
        try:
            response = await self._http.request(method, target, headers=headers, **kwargs)
            if response.status_code == 401 and scope not in self._tokens:
                self._tokens[scope] = await self._authorize(response, scope)
                headers["Authorization"] = self._tokens[scope]
                response = await self._http.request(method, target, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            if retryable_exception(error):
                raise Transient(
                    f"the connection to {self._registry} failed: {type(error).__name__}: {error}"
                ) from None
            raise RegistryError(
                f"cannot reach {self._registry}: {type(error).__name__}: {error}"
            ) from None
        if response.status_code in (401, 403):
            raise self._refused(response, repository, what)
        return response

    async def _get(self, repository: Repository, path: str, what: str) -> httpx.Response:
        response = await self._send(
            "GET", repository, path, f"reading the {what}", headers={"Accept": ACCEPTED}
        )
        if response.status_code == 404:
            raise RegistryError(f"{repository} has no {what}")
        if response.status_code != 200:
            raise self._refused(response, repository, f"reading the {what}")
        return response

    async def platform_manifest(
        self, repository: Repository, tag: str, platform: Platform
    ) -> Descriptor:
        """The manifest repository:tag holds for the platform, checked against its config."""
        response = await self._get(repository, f"manifests/{tag}", f"tag {tag}")
        media_type = response.headers.get("content-type", "").split(";")[0]
        document = _json(response, f"manifest of {repository}:{tag}")
        try:
            if media_type in INDEX_TYPES:
                matches = [m for m in document["manifests"] if platform_of(m) == platform]
                if not matches:
                    raise RegistryError(f"{repository}:{tag} holds no {platform} image")
                entry = matches[0]
                return Descriptor(entry["mediaType"], entry["digest"], entry["size"], platform)
            config_digest = document["config"]["digest"]
        except (KeyError, TypeError) as error:
            raise RegistryError(f"the manifest of {repository}:{tag} lacks {error}") from None
        config = await self._get(repository, f"blobs/{config_digest}", f"config of {tag}")
        found = platform_of(_json(config, f"config of {repository}:{tag}"))
        if found != platform:
            raise RegistryError(f"{repository}:{tag} is a {found} image, not {platform}")
        return Descriptor(media_type, digest_of(response.content), len(response.content), platform)

    async def source_image(
        self, repository: Repository, reference: str, platform: Platform
    ) -> SourceImage:
        """The platform's image at repository:reference (a tag or a digest): its layers, each
        with its diff_id, and its history, read from the image's config."""
        entry = await self.platform_manifest(repository, reference, platform)
        what = f"manifest {entry.digest}"
        manifest = _json(await self._get(repository, f"manifests/{entry.digest}", what), what)
        try:
            config_digest = manifest["config"]["digest"]
            layers = manifest["layers"]
            what = f"config of {reference}"
            config = _json(await self._get(repository, f"blobs/{config_digest}", what), what)
            diff_ids = config["rootfs"]["diff_ids"]
            found = tuple(
                SourceLayer(repository, diff_id, layer["mediaType"], layer["digest"], layer["size"])
                for diff_id, layer in zip(diff_ids, layers, strict=True)
            )
            history = tuple(dict(entry) for entry in config.get("history") or ())
        except (KeyError, TypeError, ValueError) as error:
            raise RegistryError(
                f"the image {repository}@{entry.digest} has no usable layer list: {error}"
            ) from None
        return SourceImage(found, history)

    async def get_blob(self, repository: Repository, digest: str, path: Path) -> None:
        """The blob's bytes written to path (whole or not at all), once checked against its
        digest."""
        what = f"blob {digest}"
        content = (await self._get(repository, f"blobs/{digest}", what)).content
        if digest_of(content) != digest:
            raise RegistryError(f"{repository} sent other bytes for the blob {digest}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as partial:
            try:
                partial.write(content)
            except BaseException:
                Path(partial.name).unlink(missing_ok=True)
                raise
        Path(partial.name).replace(path)

    async def tag_digest(self, repository: Repository, tag: str) -> str | None:
        """The digest of the manifest repository:tag holds; None when there is no such tag."""
        response = await self._send(
            "GET",
            repository,
            f"manifests/{tag}",
            f"reading the tag {tag}",
            headers={"Accept": ACCEPTED},
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(response, repository, f"reading the tag {tag}")
        return digest_of(response.content)

    async def check_push(self, repository: Repository) -> None:
        """Whether the credentials may push to the repository: start a blob upload and leave
        it (nothing is written; registries purge abandoned uploads, and cancelling one would
        need the delete right)."""
        response = await self._send(
            "POST", repository, "blobs/uploads/", "checking the right to push"
        )
        if response.status_code != 202:
            raise self._refused(response, repository, "checking the right to push")

    async def put_index(
        self, repository: Repository, tag: str, entries: Sequence[Descriptor]
    ) -> str:
        """Push an index of the entries as repository:tag; returns its digest."""
        return await self.put_manifest(repository, tag, index_document(entries), OCI_INDEX)

    async def put_manifest(
        self, repository: Repository, tag: str, document: bytes, media_type: str
    ) -> str:
        """Push a manifest or an index as repository:tag; returns its digest, checked
        against the one the registry says it stored."""
        what = "index" if media_type in INDEX_TYPES else "manifest"
        response = await self._send(
            "PUT",
            repository,
            f"manifests/{tag}",
            f"pushing the {what} {tag}",
            headers={"Content-Type": media_type},
            content=document,
        )
        if response.status_code not in (200, 201):
            raise RegistryError(
                f"{repository}:{tag} was refused: {response.status_code} {response.text[:200]}"
            )
        digest = digest_of(document)
        stored = response.headers.get("docker-content-digest")
        if stored and stored != digest:
            raise RegistryError(
                f"{repository}:{tag} was stored as {stored}, not as the pushed {what} {digest} "
                "(digest mismatch)"
            )
        return digest

    async def has_blob(self, repository: Repository, digest: str) -> bool:
        """Whether the repository holds the blob."""
        response = await self._send(
            "HEAD", repository, f"blobs/{digest}", f"looking for the blob {digest}"
        )
        if response.status_code not in (200, 404):
            raise self._refused(response, repository, f"looking for the blob {digest}")
        return response.status_code == 200

    async def put_blob(
        self,
        repository: Repository,
        blob: Blob,
        sources: Sequence[Repository] = (),
        fetch: Callable[[], Awaitable[None]] | None = None,
    ) -> str:
        """Make the repository hold the blob: left alone when it does, mounted from the
        first source of this registry that holds it, else uploaded whole (the upload is
        started again on a transient failure; fetch, when given, first brings the blob's
        bytes to its path). Returns which: present, mounted, uploaded."""
        if await self.has_blob(repository, blob.digest):
            return "present"
        what = f"pushing the blob {blob.digest}"
        for source in sources:
            if source.registry != self._registry or source == repository:
                continue
            mount = f"blobs/uploads/?mount={blob.digest}&from={source.path}"
            response = await self._send("POST", repository, mount, what)
            if response.status_code == 201:
                return "mounted"
            if response.status_code == 202:
                # Not mounted (another repository's blob the credentials may not read):
                # an upload started instead, left for the registry to purge.
                break

        if fetch is not None:
            await fetch()

        async def upload() -> None:
            started = await self._send_once("POST", repository, "blobs/uploads/", what)
            location = started.headers.get("location", "")
            if started.status_code != 202 or not location:
                raise self._transient_or_refused(started, repository, what)
            url = httpx.URL(str(started.url.join(location)))
            url = url.copy_merge_params({"digest": blob.digest})
            done = await self._send_once(
                "PUT",
                repository,
                "",
                what,
                url=url,
                headers={"Content-Type": "application/octet-stream"},
                content=blob.path.read_bytes(),
            )
            if done.status_code != 201:
                raise self._transient_or_refused(done, repository, what)

        await self._retried(upload, repository, what)
        return "uploaded"

    def _transient_or_refused(
        self, response: httpx.Response, repository: Repository, what: str
    ) -> Exception:
        if retryable_status(response.status_code):
            return Transient(
                f"{self._registry} answered {response.status_code} {response.reason_phrase}",
                retry_after_seconds(response.headers.get("retry-after")),
            )
        return RegistryError(
            f"{what} to {self._registry}/{repository.path} was refused: "
            f"{response.status_code} {response.text[:200]}",
            refused=response.status_code in (401, 403),
        )


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        raise RegistryError(f"the {what} is not JSON") from None
    if not isinstance(document, dict):
        raise RegistryError(f"the {what} is not a JSON object")
    return document
