"""Publishing: multi-arch images, per-arch images for CI matrix jobs, their merge, bases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import dagger
from dagger import Doc, field, object_type

from ci.core.base_tags import BASE_IMAGE, OVS_IMAGE
from ci.core.catalog import IMAGE_NAMES, RELEASED
from ci.core.platforms import Platform
from ci.core.references import Repository, arch_tag, check_tag, parse_repository
from ci.images.builder import ImageBuilder, Images
from ci.release.push import push, push_indexes
from ci.release.registry import loopback_routes


@object_type
class RegistryAuth:
    """Credentials for one registry host."""

    address: Annotated[str, Doc("Registry host, e.g. ghcr.io or docker.io")] = field()
    username: Annotated[str, Doc("User name")] = field()
    secret: Annotated[dagger.Secret, Doc("Password or token")] = field()


async def _loopback_routes(tunnels: list[dagger.Service]) -> dict[str, str]:
    """Where this code reaches the registries of the caller's loopback: through the
    tunnels' endpoints (started here, or shared with the caller that started them)."""
    endpoints = []
    for tunnel in tunnels:
        await tunnel.start()
        endpoints.append(await tunnel.endpoint(scheme="http"))
    return loopback_routes(endpoints)


def _tags(tag: str, latest: bool) -> list[str]:
    return [check_tag(tag), *(["latest"] if latest else [])]


@dataclass(frozen=True)
class Release:
    """Pushes what the builder builds, with the builder's credentials."""

    builder: ImageBuilder

    async def _push_images(
        self, built: dict[Platform, Images], repositories: list[Repository], tags: list[str]
    ) -> list[str]:
        credentials = self.builder.inputs.credentials
        published = []
        for image in RELEASED:
            variants = {target: getattr(images, image) for target, images in built.items()}
            for repository in repositories:
                for tag in tags:
                    child = repository.child(IMAGE_NAMES[image])
                    published.append(await push(variants, child, tag, credentials))
        return published

    async def publish(
        self,
        namespaces: list[str],
        tag: str,
        platforms: list[str] | None,
        latest: bool,
        overwrite: bool = False,
    ) -> list[str]:
        """Every platform built first; then each platform under its per-arch tag, and last
        the multi-arch tags, once every manifest they name is readable."""
        repositories, tags, per_arch = await self._plan(namespaces, tag, platforms, latest)
        built = await self.builder.everywhere(list(per_arch))
        for target, target_tag in per_arch.items():
            await self._push_images({target: built[target]}, repositories, [target_tag])
        return await self._push_indexes(repositories, per_arch, tags, overwrite)

    async def publish_arch(self, namespaces: list[str], tag: str, platform: str) -> list[str]:
        """One platform under its per-arch tag."""
        repositories = [parse_repository(namespace) for namespace in namespaces]
        target = await self.builder.platform(platform)
        built = await self.builder.everywhere([target])
        return await self._push_images(built, repositories, [arch_tag(tag, target)])

    async def merge(
        self,
        namespaces: list[str],
        tag: str,
        platforms: list[str] | None,
        latest: bool,
        overwrite: bool = False,
    ) -> list[str]:
        """The multi-arch index of the per-arch tags, by digest."""
        repositories, tags, per_arch = await self._plan(namespaces, tag, platforms, latest)
        return await self._push_indexes(repositories, per_arch, tags, overwrite)

    async def _plan(
        self, namespaces: list[str], tag: str, platforms: list[str] | None, latest: bool
    ) -> tuple[list[Repository], list[str], dict[Platform, str]]:
        """The repositories, the multi-arch tags and each platform's per-arch tag, all
        checked before anything is built or pushed."""
        repositories = [parse_repository(namespace) for namespace in namespaces]
        tags = _tags(tag, latest)
        targets = await self.builder.targets(platforms)
        return repositories, tags, {target: arch_tag(tag, target) for target in targets}

    async def _push_indexes(
        self,
        repositories: list[Repository],
        per_arch: dict[Platform, str],
        tags: list[str],
        overwrite: bool,
    ) -> list[str]:
        images = [repo.child(IMAGE_NAMES[image]) for image in RELEASED for repo in repositories]
        inputs = self.builder.inputs
        routes = await _loopback_routes(inputs.local_registries)
        return await push_indexes(images, per_arch, tags, inputs.credentials, overwrite, routes)

    async def publish_base(
        self, namespace: str, platforms: list[str] | None, suricata: bool
    ) -> list[str]:
        """The OVS and base images of each platform under their content tags."""
        repository = parse_repository(namespace)
        credentials = self.builder.inputs.credentials
        versions = (await self.builder.tree()).versions
        published = []
        for target in await self.builder.targets(platforms):
            choice = await self.builder.suricata(target, suricata)
            ovs, base = await self.builder.base_tags(target, choice.version, versions)
            ovs_image = await self.builder.ovs_built(target, versions)
            base_image = self.builder.base_built(target, ovs_image, choice.version, versions)
            published.append(
                await push({target: ovs_image}, repository.child(OVS_IMAGE), ovs, credentials)
            )
            published.append(
                await push({target: base_image}, repository.child(BASE_IMAGE), base, credentials)
            )
        return published
