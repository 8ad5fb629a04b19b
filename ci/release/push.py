"""Pushing images: registry credentials, multi-platform manifests, clear refusals."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import dagger
import httpx
from dagger import dag

from ci.core.errors import first_line
from ci.core.platforms import Platform
from ci.core.references import Repository
from ci.core.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    Transient,
    refusal_reason,
    retry,
    transient_reason,
    without_queries,
)
from ci.release.registry import (
    Descriptor,
    RegistryClient,
    RegistryError,
    digest_of,
    http_client,
    index_document,
)
from ci.release.tag_guard import TagMoveRefused, TagUpdate, check_updates, unchanged_lines


class PublishError(RuntimeError):
    """A push a registry refused; the message never holds a credential."""


@dataclass(frozen=True)
class Credential:
    """A username and a secret for one registry host."""

    registry: str
    username: str
    secret: dagger.Secret


def _authenticated(
    container: dagger.Container, credentials: Sequence[Credential], registry: str
) -> dagger.Container:
    for credential in credentials:
        if credential.registry == registry:
            container = container.with_registry_auth(
                registry, credential.username, credential.secret
            )
    return container


async def _scrubbed(message: str, credentials: Sequence[Credential]) -> str:
    for credential in credentials:
        plaintext = await credential.secret.plaintext()
        if plaintext:
            message = message.replace(plaintext, "***")
    return message


async def push(
    variants: dict[Platform, dagger.Container],
    repository: Repository,
    tag: str,
    credentials: Sequence[Credential],
    policy: RetryPolicy = DEFAULT_POLICY,
) -> str:
    """Push one image (one or several platforms) as repository:tag.

    Returns the reference with its digest. A transient failure of the registry or the
    network (5xx, 429, a reset connection, a timeout) is retried with the policy's bounded
    backoff, one line on stderr per retry; a refusal becomes a PublishError naming the
    registry and the reason at once.
    """
    reference = repository.tagged(tag)
    containers = [
        _authenticated(variants[platform], credentials, repository.registry)
        for platform in sorted(variants)
    ]

    async def attempt() -> str:
        try:
            if len(containers) == 1:
                return await containers[0].publish(reference)
            carrier = _authenticated(dag.container(), credentials, repository.registry)
            return await carrier.publish(reference, platform_variants=containers)
        except dagger.QueryError as error:
            message = await _scrubbed(str(error), credentials)
            reason = without_queries(first_line(message))
            if refusal_reason(reason) is not None:
                raise _refusal(repository, reference, credentials) from None
            # The engine may put the cause on a later line ("failed to do request: \n...EOF").
            transient = transient_reason(message)
            if transient is not None:
                shown = reason if transient in reason.lower() else f"{reason} ... {transient}"
                raise Transient(shown) from None
            raise PublishError(f"pushing {reference} failed: {reason}") from None

    def note(next_attempt: int, attempts: int, reason: str) -> None:
        print(
            f"retrying push of {reference} (attempt {next_attempt}/{attempts}): {reason}",
            file=sys.stderr,
            flush=True,
        )

    try:
        return await retry(attempt, policy, on_retry=note)
    except Transient as failure:
        raise PublishError(
            f"pushing {reference} failed after {failure.attempts} attempt(s): {failure.reason}"
        ) from None


def _refusal(
    repository: Repository, reference: str, credentials: Sequence[Credential]
) -> PublishError:
    users = [c.username for c in credentials if c.registry == repository.registry]
    who = f"user {users[0]!r}" if users else "anonymous access"
    return PublishError(
        f"{repository.registry} refused the credentials ({who}) for {reference}: "
        "check the username and password or token"
    )


async def _client(
    http: httpx.AsyncClient,
    registry: str,
    credentials: Sequence[Credential],
    routes: Mapping[str, str],
) -> RegistryClient:
    endpoint = routes.get(registry, "")
    for credential in credentials:
        if credential.registry == registry:
            password = await credential.secret.plaintext()
            return RegistryClient(http, registry, credential.username, password, endpoint=endpoint)
    return RegistryClient(http, registry, endpoint=endpoint)


async def push_indexes(
    images: Sequence[Repository],
    per_arch_tags: dict[Platform, str],
    tags: Sequence[str],
    credentials: Sequence[Credential],
    overwrite: bool = False,
    routes: Mapping[str, str] | None = None,
) -> list[str]:
    """Push, for each image, an index of the manifests its per-arch tags hold, by digest.

    Every per-arch manifest is found and checked, the right to push to every repository
    too, and no release tag may move (unless overwrite), before the first index is pushed;
    a tag that already holds the very index is left alone, with a line saying so. Returns
    the references with their digests. Routes name where to reach a registry that is not
    reachable at its address from here (loopback_routes).
    """
    async with http_client(60) as http:
        clients: dict[str, RegistryClient] = {}
        for image in images:
            if image.registry not in clients:
                clients[image.registry] = await _client(
                    http, image.registry, credentials, routes or {}
                )
        plans: dict[str, tuple[Repository, list[Descriptor]]] = {}
        updates: list[TagUpdate] = []
        for image in images:
            client = clients[image.registry]
            with _publish_errors(image, credentials):
                entries = [
                    await client.platform_manifest(image, tag, platform)
                    for platform, tag in sorted(per_arch_tags.items())
                ]
                digest = digest_of(index_document(entries))
                for tag in tags:
                    reference = image.tagged(tag)
                    plans[reference] = (image, entries)
                    current = await client.tag_digest(image, tag)
                    updates.append(TagUpdate(reference, tag, digest, current))
        try:
            pending = check_updates(updates, overwrite)
        except TagMoveRefused as refused:
            raise PublishError(str(refused)) from None
        # A read-only token is refused here, before anything is written anywhere.
        for image in {plans[update.reference][0] for update in pending}:
            with _publish_errors(image, credentials):
                await clients[image.registry].check_push(image)
        for line in unchanged_lines(updates):
            print(line, file=sys.stderr, flush=True)
        for update in pending:
            image, entries = plans[update.reference]
            with _publish_errors(image, credentials):
                await clients[image.registry].put_index(image, update.tag, entries)
        return [f"{update.reference}@{update.digest}" for update in updates]


@contextmanager
def _publish_errors(image: Repository, credentials: Sequence[Credential]) -> Iterator[None]:
    try:
        yield
    except RegistryError as error:
        if error.refused:
            raise _refusal(image, str(image), credentials) from None
        raise PublishError(f"merging {image} failed: {error}") from None


def pull(
    platform: Platform, repository: Repository, tag: str, credentials: Sequence[Credential]
) -> dagger.Container:
    """An image of the registry, for one platform, pulled with the registry's credentials."""
    container = _authenticated(
        dag.container(platform=dagger.Platform(str(platform))), credentials, repository.registry
    )
    return container.from_(repository.tagged(tag))
