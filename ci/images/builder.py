"""Building the images of a platform: the recipes of ci.images composed, bases reused.

A call plans once (the tree, its version and versions, the Go image: `Plan`), then once per
platform (the distribution image, Suricata: `PlatformPlan`), and builds from the plans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated

import anyio
import dagger
from dagger import Doc, dag, object_type
from dagger import field as dagger_field

from ci.cache.entries import GoCache, cache_key
from ci.cache.volumes import GoCacheVolumes
from ci.core import debian
from ci.core.base_tags import (
    BASE_IMAGE,
    OVS_IMAGE,
    base_tag,
    code_digest,
    flow_aggregator_base_tag,
    ovs_tag,
)
from ci.core.catalog import FLOW_AGGREGATOR_BASE, RELEASED
from ci.core.errors import (
    first_line,
    leaves,
    lost_engine_reason,
    silent_exec_hint,
    sole_error_unwrapped,
)
from ci.core.fingerprints import PlatformInputs, project_digest
from ci.core.go_cache import GoCacheKey
from ci.core.labels import oci_labels
from ci.core.platforms import Platform, default_platforms, parse_platform, runs_natively
from ci.core.references import Repository, parse_repository
from ci.core.say import Say, to_stderr
from ci.core.versions import BuildVersions, SourceError, SuricataChoice, choose_suricata, pins
from ci.images import agent as agent_recipe
from ci.images import apt as apt_recipe
from ci.images import base as base_recipe
from ci.images import controller as controller_recipe
from ci.images import flow_aggregator as flow_aggregator_recipe
from ci.images import golang
from ci.images import ovs as ovs_recipe
from ci.images.inputs import BuildInputs, pull
from ci.images.source import AntreaSource, AntreaTree, check_tree, entries, load_source

# A recipe of an image made from the distribution image: (platform, distro image, binaries,
# labels) -> the image.
DistroRecipe = Callable[[Platform, str, dagger.Directory, dict[str, str]], dagger.Container]

# Where an Antrea tree keeps the OVS image's settings.
OVS_IMAGE_DIR = "build/images/ovs"

# The Go commands the agent, controller and flow-aggregator images hold, built once for all.
ANTREA_COMMANDS = sorted(
    {
        *agent_recipe.AGENT_COMMANDS,
        *controller_recipe.CONTROLLER_COMMANDS,
        *flow_aggregator_recipe.FLOW_AGGREGATOR_COMMANDS,
    }
)


class ImageError(RuntimeError):
    """An image that does not resolve for a platform, or does not fit what is asked."""


class BuildFailure(RuntimeError):
    """Platforms whose images did not build; nothing was pushed."""


@object_type
class Images:
    """The Antrea images of one platform."""

    platform: Annotated[str, Doc("The normalised target platform")] = dagger_field()
    version: Annotated[str, Doc("The version the binaries and labels carry")] = dagger_field()
    ovs: Annotated[dagger.Container, Doc("Open vSwitch built from its release tarball")] = (
        dagger_field()
    )
    base: Annotated[dagger.Container, Doc("OVS plus CNI plugins, iptables wrapper, tools")] = (
        dagger_field()
    )
    agent: Annotated[dagger.Container, Doc("The antrea-agent image")] = dagger_field()
    controller: Annotated[dagger.Container, Doc("The antrea-controller image")] = dagger_field()
    flow_aggregator: Annotated[dagger.Container, Doc("The flow-aggregator image")] = dagger_field()
    emulated: Annotated[bool, Doc("Whether the engine emulates the platform")] = dagger_field()
    bases_from: Annotated[
        str, Doc("Namespace the OVS and base images were pulled from; empty when built here")
    ] = dagger_field()
    made_on: Annotated[
        list[str],
        Doc(
            "The images these were made on, by digest: the distribution image first, then the"
            " bases when pulled"
        ),
    ] = dagger_field()
    versions: Annotated[
        list[str], Doc("The versions used (OVS, CNI plugins, Go, ...), each with its origin")
    ] = dagger_field()


@dataclass(frozen=True)
class Plan:
    """What every platform of one call is built from, read and resolved once."""

    tree: AntreaTree
    source: AntreaSource
    engine: Platform  # the engine's own platform, where Go compiles
    go_image: str  # the Go image's reference, resolved for the engine's platform
    go_image_digest: str  # the same, by digest
    charon_logging: dagger.File | None  # the tree's OVS image settings, if it has them
    caches: GoCacheVolumes  # Go's module and build caches on the engine's platform
    cache_key: GoCacheKey | None  # the portable Go cache's entry, when one is used

    @property
    def versions(self) -> BuildVersions:
        return self.tree.versions


@dataclass(frozen=True)
class PlatformPlan:
    """What one platform's images are built from."""

    plan: Plan
    target: Platform
    distro: str  # the distribution image's reference, resolved for the target
    distro_digest: str  # the same, by digest
    suricata: SuricataChoice

    @property
    def emulated(self) -> bool:
        return not runs_natively(self.target, self.plan.engine)


@dataclass(frozen=True)
class Bases:
    """What a platform's images are made on: the OVS and base images, the flow-aggregator's
    base; where they were pulled from ("" when built here) and their references there, by
    digest."""

    ovs: dagger.Container
    base: dagger.Container
    flow_aggregator: dagger.Container
    pulled_from: str
    pulled: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageBuilder:
    """Builds the images of any platform from the inputs: Go cross-compiled natively, the
    rest in the target platform, the OVS and base images pulled when published before."""

    inputs: BuildInputs
    say: Say = to_stderr

    @staticmethod
    async def engine_platform() -> Platform:
        return parse_platform(str(await dag.default_platform()))

    async def target(self, platform: Platform | None) -> Platform:
        """The platform, or the engine's own when None."""
        return platform or await self.engine_platform()

    @staticmethod
    def targets(platforms: list[Platform] | None) -> list[Platform]:
        """The platforms; those of build/platforms.toml when none."""
        return platforms or default_platforms()

    async def resolved(self, reference: str, platform: Platform, role: str) -> dagger.Container:
        """The image, once the registry confirmed it has one for the platform."""
        container = dag.container(platform=dagger.Platform(str(platform))).from_(reference)
        try:
            await container.sync()
        except dagger.QueryError as error:
            reason = first_line(str(error))
            raise ImageError(
                f"the {role} image {reference!r} does not resolve for {platform}: {reason}"
            ) from None
        return container

    async def tree(self) -> AntreaTree:
        return await check_tree(self.inputs.source or await self._pinned_release())

    @staticmethod
    async def _pinned_release() -> dagger.Directory:
        """The upstream release build/versions.env pins, fetched: SourceError when it
        cannot be (offline, say), rather than a tree found empty."""
        repository, tag = pins().antrea_repository, pins().antrea
        tree = dag.git(repository).tag(tag).tree()
        try:
            await tree.sync()
        except dagger.QueryError as error:
            raise SourceError(
                f"cannot fetch Antrea {tag} from {repository} ({first_line(str(error))}): "
                "give the tree to build with --source"
            ) from None
        return tree

    def go_image(self, versions: BuildVersions) -> str:
        return self.inputs.go_image or f"golang:{versions.go.value}"

    async def plan(
        self,
        targets: Sequence[Platform] = (),
        suricata: bool = True,
        tests_on: Platform | None = None,
    ) -> Plan:
        """Check the tree, read its versions, resolve the Go image and the tree's version;
        restore the Go cache when asked to (--cache-from), as soon as its key is known,
        reading the tree's version and pulling what the targets' images are made on (and
        the Go image of the platform unit tests run on) meanwhile (all wait on the network
        and the disk)."""
        tree = await self.tree()
        engine = await self.engine_platform()
        go_image = self.go_image(tree.versions)
        go = await self.resolved(go_image, engine, "Go")
        charon_logging = None
        if ovs_recipe.CHARON_LOGGING in await entries(tree.directory, OVS_IMAGE_DIR):
            charon_logging = tree.directory.file(f"{OVS_IMAGE_DIR}/{ovs_recipe.CHARON_LOGGING}")
        go_image_digest = await go.image_ref()
        inputs = self.inputs
        key = None
        if inputs.cache_from or inputs.cache_from_dir or inputs.cache_to:
            key = await cache_key(go, go_image_digest, engine, tree.directory)
        restored: list[GoCacheVolumes] = []

        async def restore(key: GoCacheKey) -> None:
            go_cache = GoCache(go_image, inputs.credentials, self.say)
            restored.append(await go_cache.restore(key, inputs.cache_from, inputs.cache_from_dir))

        async def pull(plan: Plan, target: Platform) -> None:
            platform_plan = await self.platform_plan(plan, target, suricata)
            if inputs.base_registry:
                await self.bases(platform_plan)

        with sole_error_unwrapped():
            async with anyio.create_task_group() as group:
                if key is not None and (inputs.cache_from or inputs.cache_from_dir):
                    group.start_soon(restore, key)
                plan = Plan(
                    tree=tree,
                    source=await load_source(tree, go_image),
                    engine=engine,
                    go_image=go_image,
                    go_image_digest=go_image_digest,
                    charon_logging=charon_logging,
                    caches=GoCacheVolumes.empty(),
                    cache_key=key,
                )
                for target in targets:
                    group.start_soon(pull, plan, target)
                if tests_on is not None and tests_on != engine:
                    group.start_soon(self.resolved, go_image, tests_on, "Go")
        return replace(plan, caches=restored[0]) if restored else plan

    async def save_go_cache(self, plan: Plan) -> None:
        """Save Go's caches as the plan's entry, when asked to (--cache-to); call it once
        what should be in them was built or run."""
        if self.inputs.cache_to and plan.cache_key:
            go_cache = GoCache(plan.go_image, self.inputs.credentials, self.say)
            await go_cache.save(
                plan.cache_key, plan.caches, plan.source.directory, self.inputs.cache_to
            )

    async def platform_plan(self, plan: Plan, target: Platform, suricata: bool) -> PlatformPlan:
        """Resolve the distribution image for the target and choose Suricata (Ubuntu's PPA
        or Debian's backports)."""
        distro = await self.resolved(self.inputs.distro_image, target, "distribution")
        os_release = await distro.file("/etc/os-release").contents()
        choice = choose_suricata(
            suricata,
            self.inputs.distro_image,
            debian.parse_os_release(os_release),
            target.facts.debian,
            plan.versions.suricata,
        )
        return PlatformPlan(
            plan=plan,
            target=target,
            distro=self.inputs.distro_image,
            distro_digest=await distro.image_ref(),
            suricata=choice,
        )

    def version_lines(self, plan: PlatformPlan) -> list[str]:
        """The versions a build uses and where each came from, for the user to read."""
        versions = plan.plan.versions
        go_image = f"go-image {plan.plan.go_image} "
        go_image += "(--go-image)" if self.inputs.go_image else f"(golang:<go {versions.go.value}>)"
        return [*versions.lines(plan.suricata.line), go_image]

    @staticmethod
    def labels(title: str, source: AntreaSource) -> dict[str, str]:
        return oci_labels(title, pins().antrea_repository, source.version)

    @staticmethod
    def binaries(plan: Plan, target: Platform) -> dagger.Directory:
        source = plan.source
        return golang.antrea_binaries(
            golang.go_builder(plan.go_image, plan.caches),
            source.directory,
            target,
            source.version,
            source.module_path,
            ANTREA_COMMANDS,
        )

    def _ovs_tarball(self, versions: BuildVersions) -> dagger.File:
        return self.inputs.ovs_tarball or dag.http(
            versions.ovs_tarball_url(pins().ovs_releases_url)
        )

    def _wrapper_source(self, versions: BuildVersions) -> dagger.Directory:
        return self.inputs.iptables_wrapper_source or (
            dag.git(pins().iptables_wrapper_repository)
            .commit(versions.iptables_wrapper.value)
            .tree()
        )

    async def ovs_built(self, plan: PlatformPlan) -> dagger.Container:
        """The OVS image, built here from the tarball."""
        versions = plan.plan.versions
        tarball = self._ovs_tarball(versions)
        tree = ovs_recipe.unpack(plan.distro, tarball)
        pinned = None if self.inputs.allow_ovs_version_mismatch else versions.ovs
        debs = await ovs_recipe.debs(plan.target, plan.distro, tree, await tarball.name(), pinned)
        return ovs_recipe.image(plan.target, plan.distro, debs, plan.plan.charon_logging)

    def base_built(self, plan: PlatformPlan, ovs_image: dagger.Container) -> dagger.Container:
        """The base image, built here on the OVS image (Suricata when chosen)."""
        versions = plan.plan.versions
        builder = golang.go_builder(plan.plan.go_image, plan.plan.caches)
        cni = golang.cni_plugins(
            builder, plan.target, versions.cni_plugins.value, pins().cni_plugin_names
        )
        return base_recipe.image(
            ovs_image,
            cni,
            golang.iptables_wrapper(builder, self._wrapper_source(versions), plan.target),
            plan.suricata,
        )

    async def base_tags(self, plan: PlatformPlan) -> tuple[str, str]:
        """The content-addressed tags of the OVS and base images of a platform."""
        versions = plan.plan.versions
        charon_logging = plan.plan.charon_logging
        # Files by their content only: with metadata, Dagger 0.21.8 gives the xxh3 digest its
        # file sync took right after an upload and a sha256 one after an engine restart.
        ovs = ovs_tag(
            plan.target,
            await self._ovs_tarball(versions).digest(exclude_metadata=True),
            plan.distro_digest,
            code_digest([ovs_recipe, apt_recipe, debian]),
            await charon_logging.digest(exclude_metadata=True) if charon_logging else "",
        )
        base = base_tag(
            ovs,
            versions,
            pins().cni_plugin_names,
            await self._wrapper_source(versions).digest(),
            plan.plan.go_image,
            code_digest([base_recipe, golang, apt_recipe]),
            plan.suricata.version,
        )
        return ovs, base

    async def _reused(
        self, target: Platform, repository: Repository, tag: str
    ) -> dagger.Container | None:
        """The image at repository:tag when the registry has it; None (with a warning when
        the registry cannot be reached) when it must be built here."""
        reference = repository.tagged(tag)
        try:
            return await pull(target, repository, tag, self.inputs.credentials).sync()
        except dagger.QueryError as error:
            reason = first_line(str(error), "")
            if not any(word in reason.lower() for word in ("not found", "manifest unknown", "404")):
                self.say(
                    f"warning: base registry unusable for {reference} ({reason}): building locally"
                )
            return None

    async def flow_aggregator_base_tag(self, plan: PlatformPlan) -> str:
        """The content-addressed tag of the flow-aggregator's base of a platform."""
        recipe = code_digest([flow_aggregator_recipe, apt_recipe])
        return flow_aggregator_base_tag(plan.target, plan.distro_digest, recipe)

    def flow_aggregator_base_built(self, plan: PlatformPlan) -> dagger.Container:
        return flow_aggregator_recipe.base(plan.target, plan.distro)

    async def bases(self, plan: PlatformPlan) -> Bases:
        """The images the others are made on, pulled from the base registry when it has
        every one of them (with the namespace they came from), else built here."""
        if self.inputs.base_registry:
            namespace = parse_repository(self.inputs.base_registry)
            ovs, base = await self.base_tags(plan)
            references = [
                (namespace.child(name), tag)
                for name, tag in (
                    (OVS_IMAGE, ovs),
                    (BASE_IMAGE, base),
                    (FLOW_AGGREGATOR_BASE, await self.flow_aggregator_base_tag(plan)),
                )
            ]
            pulled = [await self._reused(plan.target, *reference) for reference in references]
            if all(pulled):
                ovs_image, base_image, flow_aggregator = (p for p in pulled if p)
                # By digest: a base pushed again under its tag later is not what these were
                # made on.
                pinned = tuple([await image.image_ref() for image in pulled if image])
                return Bases(ovs_image, base_image, flow_aggregator, str(namespace), pinned)
        ovs_image = await self.ovs_built(plan)
        return Bases(
            ovs_image,
            self.base_built(plan, ovs_image),
            self.flow_aggregator_base_built(plan),
            "",
        )

    def agent(
        self, base_image: dagger.Container, source: AntreaSource, binaries: dagger.Directory
    ) -> dagger.Container:
        return agent_recipe.image(
            base_image, binaries, source.directory, self.labels("antrea-agent", source)
        )

    def controller(self, plan: PlatformPlan, binaries: dagger.Directory) -> dagger.Container:
        return self._on_distro(controller_recipe.image, "antrea-controller", plan, binaries)

    def flow_aggregator(
        self, plan: PlatformPlan, base: dagger.Container, binaries: dagger.Directory
    ) -> dagger.Container:
        labels = self.labels("flow-aggregator", plan.plan.source)
        return flow_aggregator_recipe.image(base, binaries, labels)

    def _on_distro(
        self, recipe: DistroRecipe, title: str, plan: PlatformPlan, binaries: dagger.Directory
    ) -> dagger.Container:
        """An image the recipe makes of the distribution image, the binaries and labels."""
        source = plan.plan.source
        return recipe(plan.target, plan.distro, binaries, self.labels(title, source))

    async def images(self, plan: PlatformPlan) -> Images:
        """Every image of one platform."""
        source = plan.plan.source
        binaries = self.binaries(plan.plan, plan.target)
        bases = await self.bases(plan)
        # dagger's field() is not a dataclass field specifier mypy knows.
        return Images(  # type: ignore[call-arg]
            platform=str(plan.target),
            version=source.version.full,
            ovs=bases.ovs,
            base=bases.base,
            agent=self.agent(bases.base, source, binaries),
            controller=self.controller(plan, binaries),
            flow_aggregator=self.flow_aggregator(plan, bases.flow_aggregator, binaries),
            emulated=plan.emulated,
            bases_from=bases.pulled_from,
            made_on=[plan.distro_digest, *bases.pulled],
            versions=self.version_lines(plan),
        )

    async def planned(self, platform: Platform | None, suricata: bool = True) -> PlatformPlan:
        """The plan of one platform (the engine's when None)."""
        target = await self.target(platform)
        return await self.platform_plan(await self.plan([target], suricata), target, suricata)

    async def build(self, platform: Platform | None, suricata: bool = True) -> Images:
        """Every image of one platform (the engine's when None); with --cache-to, built
        before Go's caches are saved."""
        plan = await self.planned(platform, suricata)
        images = await self.images(plan)
        if self.inputs.cache_to:
            for name in RELEASED:
                await getattr(images, name).sync()
            await self.save_go_cache(plan.plan)
        return images

    async def binaries_for(self, platform: Platform | None) -> dagger.Directory:
        """The Go binaries of one platform (the engine's when None)."""
        plan = await self.plan()
        return self.binaries(plan, await self.target(platform))

    async def bases_for(
        self, platform: Platform | None, suricata: bool = True
    ) -> tuple[dagger.Container, dagger.Container]:
        """The OVS and base images of one platform (the engine's when None)."""
        bases = await self.bases(await self.planned(platform, suricata))
        return bases.ovs, bases.base

    async def controller_for(self, platform: Platform | None) -> dagger.Container:
        plan = await self.planned(platform, suricata=False)
        return self.controller(plan, self.binaries(plan.plan, plan.target))

    async def flow_aggregator_for(self, platform: Platform | None) -> dagger.Container:
        plan = await self.planned(platform, suricata=False)
        base = None
        if self.inputs.base_registry:
            repository = parse_repository(self.inputs.base_registry).child(FLOW_AGGREGATOR_BASE)
            tag = await self.flow_aggregator_base_tag(plan)
            base = await self._reused(plan.target, repository, tag)
        base = base or self.flow_aggregator_base_built(plan)
        return self.flow_aggregator(plan, base, self.binaries(plan.plan, plan.target))

    async def fingerprints(self, plan: PlatformPlan, images: Images) -> dict[str, str]:
        """The fingerprint of each of the images (ci.core.fingerprints), read from their
        inputs only: what a tarball exported before can be checked against, whichever
        engine."""
        ovs, base = await self.base_tags(plan)
        source = plan.plan.source
        inputs = PlatformInputs(
            platform=str(plan.target),
            ovs_tag=ovs,
            base_tag=base,
            flow_aggregator_base_tag=await self.flow_aggregator_base_tag(plan),
            bases_from=images.bases_from,
            distro_ref=plan.distro_digest,
            go_image_ref=plan.plan.go_image_digest,
            source_digest=await source.directory.digest(),
            version=f"{source.version.full} {source.version.ldflags(source.module_path)}",
            project=project_digest(),
        )
        return inputs.fingerprints()

    async def everywhere(
        self, plan: Plan, targets: list[Platform], suricata: bool = True
    ) -> dict[Platform, Images]:
        """Build every platform concurrently from the plan; unless all built, fail naming
        each failure (a lost engine is raised as it is: nothing else can go on)."""
        built: dict[Platform, Images] = {}
        failures: dict[Platform, str] = {}

        async def build_one(target: Platform) -> None:
            try:
                images = await self.images(await self.platform_plan(plan, target, suricata))
                for name in RELEASED:
                    await getattr(images, name).sync()
                built[target] = images
            except Exception as error:
                if any(lost_engine_reason(leaf) for leaf in leaves(error)):
                    raise
                failures[target] = first_line(str(error), repr(error))
                if isinstance(error, dagger.ExecError):
                    hint = silent_exec_hint(error.stdout, error.stderr)
                    failures[target] += f" ({hint})" if hint else ""

        async with anyio.create_task_group() as group:
            for target in targets:
                group.start_soon(build_one, target)
        if failures:
            detail = "; ".join(f"{target}: {reason}" for target, reason in sorted(failures.items()))
            raise BuildFailure(f"nothing was pushed, the build failed for {detail}")
        return built
