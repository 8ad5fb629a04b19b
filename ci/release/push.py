"""Pushing images: registry credentials, multi-platform manifests, clear refusals."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager

import dagger
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
from ci.core.say import Say, to_stderr
from ci.images.inputs import Credential, authenticated
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
        authenticated(variants[platform], credentials, repository.registry)
        for platform in sorted(variants)
    ]

    async def attempt() -> str:
        try:
            if len(containers) == 1:
                return await containers[0].publish(reference)
            carrier = authenticated(dag.container(), credentials, repository.registry)
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


@asynccontextmanager
async def registry_clients(
    images: Sequence[Repository],
    credentials: Sequence[Credential],
    routes: Mapping[str, str] | None = None,
) -> AsyncIterator[dict[str, RegistryClient]]:
    """A client of each registry the images live in, with its credentials, by registry.
    Routes name where to reach a registry that is not reachable at its address from here
    (loopback_routes)."""
    async with http_client(60) as http:
        clients: dict[str, RegistryClient] = {}
        for image in images:
            if image.registry in clients:
                continue
            endpoint = (routes or {}).get(image.registry, "")
            user, password = "", ""
            for credential in credentials:
                if credential.registry == image.registry:
                    user, password = credential.username, await credential.secret.plaintext()
            clients[image.registry] = RegistryClient(
                http, image.registry, user, password, endpoint=endpoint
            )
        yield clients


async def current_tags(
    clients: Mapping[str, RegistryClient],
    images: Sequence[Repository],
    tags: Sequence[str],
    credentials: Sequence[Credential],
) -> dict[str, str | None]:
    """What each image:tag holds now (its manifest's digest, None when there is no such
    tag), by reference."""
    held: dict[str, str | None] = {}
    for image in images:
        client = clients[image.registry]
        with publish_errors(image, credentials, "reading the tags of"):
            for tag in tags:
                held[image.tagged(tag)] = await client.tag_digest(image, tag)
    return held


async def require_push_rights(
    clients: Mapping[str, RegistryClient],
    images: Iterable[Repository],
    credentials: Sequence[Credential],
) -> None:
    """PublishError naming the first image the credentials may not push to: a read-only
    token is refused before anything is written anywhere."""
    for image in sorted(set(images), key=str):
        with publish_errors(image, credentials, "checking the right to push to"):
            await clients[image.registry].check_push(image)


def refuse_moves(updates: Sequence[TagUpdate], overwrite: bool) -> list[TagUpdate]:
    """The updates that change something; PublishError naming every release tag that
    would move, unless overwrite (tag_guard.check_updates)."""
    try:
        return check_updates(updates, overwrite)
    except TagMoveRefused as refused:
        raise PublishError(str(refused)) from None


async def push_indexes(
    images: Sequence[Repository],
    per_arch_tags: dict[Platform, str],
    tags: Sequence[str],
    credentials: Sequence[Credential],
    overwrite: bool = False,
    routes: Mapping[str, str] | None = None,
    say: Say = to_stderr,
) -> list[str]:
    """write_indexes with clients of their own (routes: see registry_clients)."""
    async with registry_clients(images, credentials, routes) as clients:
        return await write_indexes(
            clients, images, per_arch_tags, tags, credentials, overwrite, say
        )


async def write_indexes(
    clients: Mapping[str, RegistryClient],
    images: Sequence[Repository],
    per_arch_tags: dict[Platform, str],
    tags: Sequence[str],
    credentials: Sequence[Credential],
    overwrite: bool = False,
    say: Say = to_stderr,
) -> list[str]:
    """Push, for each image, an index of the manifests its per-arch tags hold, by digest.

    Every per-arch manifest is found and checked, the right to push to every repository
    too, and no release tag may move (unless overwrite), before the first index is pushed;
    a tag that already holds the very index is left alone, with a line saying so. Returns
    the references with their digests.
    """
    plans: dict[str, tuple[Repository, list[Descriptor]]] = {}
    updates: list[TagUpdate] = []
    indexes: dict[Repository, list[Descriptor]] = {}
    for image in images:
        client = clients[image.registry]
        with publish_errors(image, credentials, "merging"):
            indexes[image] = [
                await client.platform_manifest(image, tag, platform)
                for platform, tag in sorted(per_arch_tags.items())
            ]
    held = await current_tags(clients, images, tags, credentials)
    for image, entries in indexes.items():
        digest = digest_of(index_document(entries))
        for tag in tags:
            reference = image.tagged(tag)
            plans[reference] = (image, entries)
            updates.append(TagUpdate(reference, tag, digest, held[reference]))
    pending = refuse_moves(updates, overwrite)
    await require_push_rights(clients, (plans[u.reference][0] for u in pending), credentials)
    for line in unchanged_lines(updates):
        say(line)
    for update in pending:
        image, entries = plans[update.reference]
        with publish_errors(image, credentials, "merging"):
            await clients[image.registry].put_index(image, update.tag, entries)
    return [f"{update.reference}@{update.digest}" for update in updates]


@contextmanager
def publish_errors(
    image: Repository, credentials: Sequence[Credential], doing: str
) -> Iterator[None]:
    """A registry's failure as a PublishError: `DOING IMAGE failed: why`."""
    try:
        yield
    except RegistryError as error:
        if error.refused:
            raise _refusal(image, str(image), credentials) from None
        raise PublishError(f"{doing} {image} failed: {error}") from None
