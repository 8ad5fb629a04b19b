"""Pushing images: registry credentials, multi-platform manifests, clear refusals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagger
from dagger import dag

from ci.errors import first_line
from ci.platforms import Platform
from ci.references import Repository

REFUSALS = ("401", "unauthorized", "authentication required", "denied")


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
) -> str:
    """Push one image (one or several platforms) as repository:tag.

    Returns the reference with its digest. A refusal becomes a PublishError naming the
    registry and the reason.
    """
    reference = repository.tagged(tag)
    containers = [
        _authenticated(variants[platform], credentials, repository.registry)
        for platform in sorted(variants)
    ]
    try:
        if len(containers) == 1:
            return await containers[0].publish(reference)
        carrier = _authenticated(dag.container(), credentials, repository.registry)
        return await carrier.publish(reference, platform_variants=containers)
    except dagger.QueryError as error:
        reason = first_line(await _scrubbed(str(error), credentials))
        if any(word in reason.lower() for word in REFUSALS):
            users = [c.username for c in credentials if c.registry == repository.registry]
            who = f"user {users[0]!r}" if users else "anonymous access"
            raise PublishError(
                f"{repository.registry} refused the credentials ({who}) for {reference}: "
                "check the username and password or token"
            ) from None
        raise PublishError(f"pushing {reference} failed: {reason}") from None


def pull(
    platform: Platform, repository: Repository, tag: str, credentials: Sequence[Credential]
) -> dagger.Container:
    """An image of the registry, for one platform, pulled with the registry's credentials."""
    container = _authenticated(
        dag.container(platform=dagger.Platform(str(platform))), credentials, repository.registry
    )
    return container.from_(repository.tagged(tag))
