"""What a build is made from, as the builder takes it from either front."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dagger
from dagger import dag

from ci.core.go_cache import CacheStore
from ci.core.inputs import DISTRO_IMAGE
from ci.core.platforms import Platform
from ci.core.references import Repository


@dataclass(frozen=True)
class Credential:
    """A username and a secret for one registry host."""

    registry: str
    username: str
    secret: dagger.Secret


def authenticated(
    container: dagger.Container, credentials: Sequence[Credential], registry: str
) -> dagger.Container:
    """The container with the credentials of the registry, if any."""
    for credential in credentials:
        if credential.registry == registry:
            container = container.with_registry_auth(
                registry, credential.username, credential.secret
            )
    return container


def pull(
    platform: Platform, repository: Repository, tag: str, credentials: Sequence[Credential]
) -> dagger.Container:
    """An image of the registry, for one platform, pulled with the registry's credentials."""
    container = authenticated(
        dag.container(platform=dagger.Platform(str(platform))), credentials, repository.registry
    )
    return container.from_(repository.tagged(tag))


@dataclass(frozen=True)
class BuildInputs:
    """The build inputs of ci.core.inputs.BUILD_INPUTS (same names), as Dagger objects,
    with the credentials for the registries a build pulls from and pushes to."""

    source: dagger.Directory | None = None
    distro_image: str = DISTRO_IMAGE.default
    go_image: str = ""
    ovs_tarball: dagger.File | None = None
    allow_ovs_version_mismatch: bool = False
    base_registry: str = ""
    iptables_wrapper_source: dagger.Directory | None = None
    cache_from: CacheStore | None = None
    cache_to: CacheStore | None = None
    # A directory store handed over as a directory (the module's --cache-from-dir).
    cache_from_dir: dagger.Directory | None = None
    credentials: list[Credential] = field(default_factory=list)
    # Tunnels to registries on the caller's loopback, which a module's container cannot
    # reach at their address (the engine, on the host's network, pushes to them directly).
    local_registries: list[dagger.Service] = field(default_factory=list)
