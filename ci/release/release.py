"""Publishing: multi-arch images, per-arch images for CI matrix jobs, their merge, bases.

Every tag a command writes is read, and no release tag may move (unless --overwrite),
before the first push: a refused publish has pushed nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import dagger
from dagger import Doc, field, object_type

from ci.core.base_tags import BASE_IMAGE, OVS_IMAGE
from ci.core.catalog import FLOW_AGGREGATOR_BASE, IMAGE_NAMES, RELEASED, made_on_by_image
from ci.core.gate import GateTestsError, check_test_pattern
from ci.core.platforms import Platform
from ci.core.references import (
    Repository,
    arch_tag,
    check_tag,
    parse_repository,
)
from ci.images.builder import ImageBuilder, Images, Plan
from ci.release.gate import ReleaseGate
from ci.release.push import (
    current_tags,
    publish_errors,
    push,
    push_indexes,
    refuse_moves,
    registry_clients,
    require_push_rights,
    write_indexes,
)
from ci.release.registry import (
    RegistryClient,
    digest_of,
    index_document,
    loopback_routes,
)
from ci.release.reproducible import (
    Reproducible,
    ReproduciblePush,
    descriptor,
    source_repositories,
    workspace,
)
from ci.release.tag_guard import TagUpdate
from ci.testing.unit_tests import TestSelection, UnitTestRunner, UnitTests


@object_type
class RegistryAuth:
    """Credentials for one registry host."""

    address: Annotated[str, Doc("Registry host, e.g. ghcr.io or docker.io")] = field()
    username: Annotated[str, Doc("User name")] = field()
    secret: Annotated[dagger.Secret, Doc("Password or token")] = field()


@dataclass(frozen=True)
class ReleaseTags:
    """What a publication writes: each released image's repository in each namespace, the
    multi-arch tags, and each platform's per-arch tag (pure; checked on creation)."""

    images: list[Repository]
    tags: list[str]
    per_arch: dict[Platform, str]

    @classmethod
    def of(
        cls, namespaces: list[str], tag: str, targets: list[Platform], latest: bool
    ) -> ReleaseTags:
        repositories = [parse_repository(namespace) for namespace in namespaces]
        return cls(
            images=[repo.child(IMAGE_NAMES[image]) for image in RELEASED for repo in repositories],
            tags=[check_tag(tag), *(["latest"] if latest else [])],
            per_arch={target: arch_tag(tag, target) for target in targets},
        )

    def image_of(self, repository: Repository) -> str:
        """The field of Images a repository holds (antrea-agent-ubuntu: agent)."""
        name = repository.path.rsplit("/", 1)[-1]
        return next(image for image in RELEASED if IMAGE_NAMES[image] == name)


@dataclass(frozen=True)
class Checked:
    """A release ready to push: the registries' clients, its reproducible images, and the
    per-arch references that already hold them (with their digests)."""

    clients: Mapping[str, RegistryClient]
    made: Reproducible
    unchanged: dict[str, str]


def made_on(built: Mapping[Platform, Images]) -> dict[Platform, dict[str, str]]:
    """By platform and released image, the image it was made on (its layers are kept, not
    rewritten)."""
    return {target: made_on_by_image(images.made_on) for target, images in built.items()}


@dataclass(frozen=True)
class Release:
    """Pushes what the builder builds, with the builder's credentials."""

    builder: ImageBuilder
    gate_tests: str = ""  # a package pattern whose unit tests the gate runs on each platform

    def __post_init__(self) -> None:
        if self.gate_tests:
            try:
                check_test_pattern(self.gate_tests)
            except GateTestsError as error:
                raise GateTestsError(f"gate_tests: {error}") from None

    async def _routes(self) -> dict[str, str]:
        """Where this code reaches the registries of the caller's loopback: through the
        tunnels' endpoints (started here, or shared with the caller that started them)."""
        endpoints = []
        for tunnel in self.builder.inputs.local_registries:
            await tunnel.start()
            endpoints.append(await tunnel.endpoint(scheme="http"))
        return loopback_routes(endpoints)

    async def _reproducible(
        self,
        clients: Mapping[str, RegistryClient],
        workdir: Path,
        plan: Plan,
        built: dict[Platform, Images],
        release: ReleaseTags,
    ) -> Reproducible:
        """Each platform's released images, reproducible (ci/release/reproducible.py)."""
        pusher = ReproduciblePush(
            clients,
            workdir,
            plan.source.version.source_date_epoch,
            made_on(built),
            self.builder.say,
        )
        containers = {
            (target, image): getattr(built[target], image)
            for target in sorted(release.per_arch)
            for image in RELEASED
        }
        return Reproducible(pusher, await pusher.images(containers))

    async def _guard(
        self,
        clients: Mapping[str, RegistryClient],
        made: Reproducible,
        release: ReleaseTags,
        overwrite: bool,
    ) -> dict[str, str]:
        """Before anything is pushed: every tag this run writes (per-arch and multi-arch)
        read, the right to push checked, and PublishError naming each release tag that
        would move unless overwrite. Returns the per-arch references that already hold
        what this run would push (not pushed again), with their digests."""
        credentials = self.builder.inputs.credentials
        written = [*release.per_arch.values(), *release.tags]
        held = await current_tags(clients, release.images, written, credentials)
        await require_push_rights(clients, release.images, credentials)
        updates: list[TagUpdate] = []
        for repository in release.images:
            image = release.image_of(repository)
            entries = []
            for target, tag in sorted(release.per_arch.items()):
                entry = descriptor(made.images[(target, image)], target)
                entries.append(entry)
                reference = repository.tagged(tag)
                updates.append(TagUpdate(reference, tag, entry.digest, held[reference]))
            index = digest_of(index_document(entries))
            for tag in release.tags:
                reference = repository.tagged(tag)
                updates.append(TagUpdate(reference, tag, index, held[reference]))
        refuse_moves(updates, overwrite)
        per_arch = set(release.per_arch.values())
        return {u.reference: u.digest for u in updates if u.unchanged and u.tag in per_arch}

    async def _push_per_arch(
        self, made: Reproducible, release: ReleaseTags, unchanged: dict[str, str]
    ) -> list[str]:
        """Each platform's images under its per-arch tag, but those already there."""
        credentials = self.builder.inputs.credentials
        published = []
        for target, tag in sorted(release.per_arch.items()):
            for repository in release.images:
                reference = repository.tagged(tag)
                if reference in unchanged:
                    digest = unchanged[reference]
                    self.builder.say(
                        f"{reference} already is {digest}: unchanged, not pushed again"
                    )
                    published.append(f"{reference}@{digest}")
                    continue
                image = made.images[(target, release.image_of(repository))]
                with publish_errors(repository, credentials, "pushing"):
                    published.append(await made.pusher.push(image, repository, tag))
        return published

    @asynccontextmanager
    async def _checked(self, release: ReleaseTags, overwrite: bool) -> AsyncIterator[Checked]:
        """The release's platforms built, their images run in them (the gate), made
        reproducible, and every tag checked (_guard); yields what to push, with the
        registries' clients and the images' files, until the pushes are done."""
        targets = list(release.per_arch)
        plan = await self.builder.plan(targets)
        built = await self.builder.everywhere(plan, targets)
        await self.builder.save_go_cache(plan)
        await self.gate(plan, built)
        reached = [*release.images, *source_repositories(made_on(built))]
        credentials = self.builder.inputs.credentials
        async with (
            registry_clients(reached, credentials, await self._routes()) as clients,
            workspace() as workdir,
        ):
            made = await self._reproducible(clients, workdir, plan, built, release)
            unchanged = await self._guard(clients, made, release, overwrite)
            yield Checked(clients, made, unchanged)

    async def gate(self, plan: Plan, built: dict[Platform, Images]) -> None:
        """Each platform's images run in that platform (ci/core/gate.py says what is
        checked), and the unit tests of gate_tests there when given; GateFailure, before
        anything is pushed, when a check fails."""
        inputs = self.builder.inputs
        ovs = "" if inputs.allow_ovs_version_mismatch else plan.versions.ovs.value
        gate = ReleaseGate(plan.go_image, plan.source.version.full, ovs, self.builder.say)
        if not self.gate_tests:
            await gate.check(built)
            return
        runner = UnitTestRunner(self.builder)
        selection = TestSelection((self.gate_tests,))

        async def tests(target: Platform) -> UnitTests:
            return await runner.run_planned(plan, target, selection, save=False)

        await gate.check(built, (self.gate_tests, tests))

    async def publish(
        self,
        namespaces: list[str],
        tag: str,
        platforms: list[Platform] | None,
        latest: bool,
        overwrite: bool = False,
    ) -> list[str]:
        """Every platform built, its images run in it (the gate) and every tag checked
        first; then each platform under its per-arch tag, and last the multi-arch tags,
        once every manifest they name is readable. Returns the multi-arch references with
        their digests."""
        release = ReleaseTags.of(namespaces, tag, self.builder.targets(platforms), latest)
        async with self._checked(release, overwrite) as checked:
            await self._push_per_arch(checked.made, release, checked.unchanged)
            return await write_indexes(
                checked.clients,
                release.images,
                release.per_arch,
                release.tags,
                self.builder.inputs.credentials,
                overwrite,
                self.builder.say,
            )

    async def publish_arch(
        self,
        namespaces: list[str],
        tag: str,
        platform: Platform | None,
        overwrite: bool = False,
        hold: Callable[[], Awaitable[None]] | None = None,
    ) -> list[str]:
        """One platform under its per-arch tag, once its images ran in it (the gate) and
        the tag was checked; then hold, when given, is awaited before the first push (it
        raises to call the push off)."""
        target = await self.builder.target(platform)
        release = ReleaseTags.of(namespaces, tag, [target], latest=False)
        release = ReleaseTags(release.images, [], release.per_arch)
        async with self._checked(release, overwrite) as checked:
            if hold is not None:
                await hold()
            return await self._push_per_arch(checked.made, release, checked.unchanged)

    async def merge(
        self,
        namespaces: list[str],
        tag: str,
        platforms: list[Platform] | None,
        latest: bool,
        overwrite: bool = False,
    ) -> list[str]:
        """The multi-arch index of the per-arch tags, by digest."""
        release = ReleaseTags.of(namespaces, tag, self.builder.targets(platforms), latest)
        credentials = self.builder.inputs.credentials
        routes = await self._routes()
        return await push_indexes(
            release.images,
            release.per_arch,
            release.tags,
            credentials,
            overwrite,
            routes,
            self.builder.say,
        )

    async def publish_base(
        self, namespace: str, platforms: list[Platform] | None, suricata: bool
    ) -> list[str]:
        """The images the others are made on (OVS, base, the flow-aggregator's base) of each
        platform, under their content tags."""
        repository = parse_repository(namespace)
        credentials = self.builder.inputs.credentials
        plan = await self.builder.plan()
        published = []
        for target in self.builder.targets(platforms):
            platform_plan = await self.builder.platform_plan(plan, target, suricata)
            ovs, base = await self.builder.base_tags(platform_plan)
            ovs_image = await self.builder.ovs_built(platform_plan)
            images = (
                (OVS_IMAGE, ovs, ovs_image),
                (BASE_IMAGE, base, self.builder.base_built(platform_plan, ovs_image)),
                (
                    FLOW_AGGREGATOR_BASE,
                    await self.builder.flow_aggregator_base_tag(platform_plan),
                    self.builder.flow_aggregator_base_built(platform_plan),
                ),
            )
            for name, tag, image in images:
                published.append(
                    await push({target: image}, repository.child(name), tag, credentials)
                )
        return published
