"""Building the images of one platform: the recipes of ci.images composed, bases reused."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import anyio
import dagger
from dagger import Doc, dag, object_type
from dagger import field as dagger_field

from ci.core import debian
from ci.core.base_tags import BASE_IMAGE, OVS_IMAGE, base_tag, code_digest, ovs_tag
from ci.core.catalog import RELEASED
from ci.core.errors import first_line, silent_exec_hint
from ci.core.fingerprints import PlatformRecipe, project_digest
from ci.core.labels import oci_labels
from ci.core.platforms import Platform, default_platforms, parse_platform, runs_natively
from ci.core.references import Repository, parse_repository
from ci.core.versions import BuildVersions, SourceError, SuricataChoice, choose_suricata, pins
from ci.images import agent as agent_recipe
from ci.images import apt as apt_recipe
from ci.images import base as base_recipe
from ci.images import controller as controller_recipe
from ci.images import flow_aggregator as flow_aggregator_recipe
from ci.images import golang
from ci.images import ovs as ovs_recipe
from ci.images.source import AntreaSource, AntreaTree, check_tree, entries, load_source
from ci.release.push import Credential, pull

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
    versions: Annotated[
        list[str], Doc("The versions used (OVS, CNI plugins, Go, ...), each with its origin")
    ] = dagger_field()


@dataclass(frozen=True)
class BuildInputs:
    """What the main object's constructor was given, as the builder needs it."""

    source: dagger.Directory | None
    distro_image: str
    go_image: str
    ovs_tarball: dagger.File | None
    allow_ovs_version_mismatch: bool
    base_registry: str
    iptables_wrapper_source: dagger.Directory | None
    credentials: list[Credential] = field(default_factory=list)
    # Tunnels to registries on the caller's loopback, which a module's container cannot
    # reach at their address (the engine, on the host's network, pushes to them directly).
    local_registries: list[dagger.Service] = field(default_factory=list)


@dataclass(frozen=True)
class ImageBuilder:
    """Builds the images of any platform from the inputs: Go cross-compiled natively, the
    rest in the target platform, the OVS and base images pulled when published before."""

    inputs: BuildInputs

    async def platform(self, platform: str) -> Platform:
        """The platform, normalised; the engine's own when empty."""
        return parse_platform(platform or str(await dag.default_platform()))

    async def targets(self, platforms: list[str] | None) -> list[Platform]:
        """The platforms, normalised; those of build/platforms.toml when none."""
        if not platforms:
            return default_platforms()
        return [await self.platform(platform) for platform in platforms]

    async def emulated(self, target: Platform) -> bool:
        return not runs_natively(target, await self.platform(""))

    async def resolved(self, reference: str, platform: Platform, role: str) -> str:
        """The reference, once the registry confirmed it has an image for the platform."""
        try:
            await dag.container(platform=dagger.Platform(str(platform))).from_(reference).sync()
        except dagger.QueryError as error:
            reason = first_line(str(error))
            raise ImageError(
                f"the {role} image {reference!r} does not resolve for {platform}: {reason}"
            ) from None
        return reference

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

    def version_lines(self, versions: BuildVersions, suricata: SuricataChoice) -> list[str]:
        """The versions a build uses and where each came from, for the user to read."""
        go_image = f"go-image {self.go_image(versions)} "
        go_image += "(--go-image)" if self.inputs.go_image else f"(golang:<go {versions.go.value}>)"
        return [*versions.lines(suricata.line), go_image]

    async def source(self) -> AntreaSource:
        tree = await self.tree()
        go_image = await self.resolved(self.go_image(tree.versions), await self.platform(""), "Go")
        return await load_source(tree, go_image)

    def labels(self, title: str, source: AntreaSource) -> dict[str, str]:
        return oci_labels(title, pins().antrea_repository, source.version)

    def binaries(self, target: Platform, source: AntreaSource) -> dagger.Directory:
        return golang.antrea_binaries(
            golang.go_builder(self.go_image(source.versions)),
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

    async def _charon_logging(self) -> dagger.File | None:
        """The tree's charon logging settings for the OVS image (build/images/ovs/), if any."""
        tree = (await self.tree()).directory
        path = f"{OVS_IMAGE_DIR}/{ovs_recipe.CHARON_LOGGING}"
        if ovs_recipe.CHARON_LOGGING not in await entries(tree, OVS_IMAGE_DIR):
            return None
        return tree.file(path)

    async def ovs_built(self, target: Platform, versions: BuildVersions) -> dagger.Container:
        """The OVS image, built here from the tarball."""
        distro = await self.resolved(self.inputs.distro_image, target, "distribution")
        tarball = self._ovs_tarball(versions)
        tree = ovs_recipe.unpack(distro, tarball)
        pinned = None if self.inputs.allow_ovs_version_mismatch else versions.ovs
        debs = await ovs_recipe.debs(target, distro, tree, await tarball.name(), pinned)
        return ovs_recipe.image(target, distro, debs, await self._charon_logging())

    def base_built(
        self,
        target: Platform,
        ovs_image: dagger.Container,
        suricata_version: str,
        versions: BuildVersions,
    ) -> dagger.Container:
        """The base image, built here on the OVS image (Suricata when a version is given)."""
        builder = golang.go_builder(self.go_image(versions))
        cni = golang.cni_plugins(
            builder, target, versions.cni_plugins.value, pins().cni_plugin_names
        )
        return base_recipe.image(
            ovs_image,
            cni,
            golang.iptables_wrapper(builder, self._wrapper_source(versions), target),
            suricata_version=suricata_version,
        )

    async def _by_digest(self, reference: str, platform: Platform, role: str) -> str:
        """The image reference resolved for the platform, by digest."""
        resolved = await self.resolved(reference, platform, role)
        return (
            await dag.container(platform=dagger.Platform(str(platform))).from_(resolved).image_ref()
        )

    async def base_tags(
        self, target: Platform, suricata_version: str, versions: BuildVersions
    ) -> tuple[str, str]:
        """The content-addressed tags of the OVS and base images of a platform."""
        distro_ref = await self._by_digest(self.inputs.distro_image, target, "distribution")
        charon_logging = await self._charon_logging()
        # Files by their content only: with metadata, Dagger 0.21.8 gives the xxh3 digest its
        # file sync took right after an upload and a sha256 one after an engine restart.
        ovs = ovs_tag(
            target,
            await self._ovs_tarball(versions).digest(exclude_metadata=True),
            distro_ref,
            code_digest([ovs_recipe, apt_recipe, debian]),
            await charon_logging.digest(exclude_metadata=True) if charon_logging else "",
        )
        base = base_tag(
            ovs,
            versions,
            pins().cni_plugin_names,
            await self._wrapper_source(versions).digest(),
            self.go_image(versions),
            code_digest([base_recipe, golang, apt_recipe]),
            suricata_version,
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
                print(
                    f"warning: base registry unusable for {reference} ({reason}): building locally",
                    file=sys.stderr,
                )
            return None

    async def suricata(self, target: Platform, wanted: bool) -> SuricataChoice:
        """Suricata at the tree's version when wanted and the distribution is Ubuntu."""
        versions = (await self.tree()).versions
        distro = await self.resolved(self.inputs.distro_image, target, "distribution")
        os_release = await (
            dag.container(platform=dagger.Platform(str(target)))
            .from_(distro)
            .file("/etc/os-release")
            .contents()
        )
        distro_id = debian.os_release_id(os_release)
        return choose_suricata(wanted, distro, distro_id, versions.suricata)

    async def bases(
        self, target: Platform, suricata_version: str
    ) -> tuple[dagger.Container, dagger.Container, str]:
        """The OVS and base images, pulled from the base registry when it has them (with
        the namespace they came from), else built here (with an empty namespace)."""
        versions = (await self.tree()).versions
        if self.inputs.base_registry:
            namespace = parse_repository(self.inputs.base_registry)
            ovs, base = await self.base_tags(target, suricata_version, versions)
            pulled_ovs = await self._reused(target, namespace.child(OVS_IMAGE), ovs)
            pulled_base = await self._reused(target, namespace.child(BASE_IMAGE), base)
            if pulled_ovs and pulled_base:
                return pulled_ovs, pulled_base, str(namespace)
        ovs_image = await self.ovs_built(target, versions)
        return ovs_image, self.base_built(target, ovs_image, suricata_version, versions), ""

    def agent(
        self, base_image: dagger.Container, source: AntreaSource, binaries: dagger.Directory
    ) -> dagger.Container:
        return agent_recipe.image(
            base_image, binaries, source.directory, self.labels("antrea-agent", source)
        )

    async def _on_distro(
        self,
        recipe: DistroRecipe,
        title: str,
        target: Platform,
        source: AntreaSource,
        binaries: dagger.Directory,
    ) -> dagger.Container:
        """An image the recipe makes of the distribution image, the binaries and labels."""
        distro = await self.resolved(self.inputs.distro_image, target, "distribution")
        return recipe(target, distro, binaries, self.labels(title, source))

    async def controller(
        self, target: Platform, source: AntreaSource, binaries: dagger.Directory
    ) -> dagger.Container:
        recipe = controller_recipe.image
        return await self._on_distro(recipe, "antrea-controller", target, source, binaries)

    async def flow_aggregator(
        self, target: Platform, source: AntreaSource, binaries: dagger.Directory
    ) -> dagger.Container:
        recipe = flow_aggregator_recipe.image
        return await self._on_distro(recipe, "flow-aggregator", target, source, binaries)

    async def images(self, platform: str = "", suricata: bool = True) -> Images:
        """Every image of one platform."""
        target = await self.platform(platform)
        source = await self.source()
        binaries = self.binaries(target, source)
        choice = await self.suricata(target, suricata)
        ovs_image, base_image, bases_from = await self.bases(target, choice.version)
        # dagger's field() is not a dataclass field specifier mypy knows.
        return Images(  # type: ignore[call-arg]
            platform=str(target),
            version=source.version.full,
            ovs=ovs_image,
            base=base_image,
            agent=self.agent(base_image, source, binaries),
            controller=await self.controller(target, source, binaries),
            flow_aggregator=await self.flow_aggregator(target, source, binaries),
            emulated=await self.emulated(target),
            bases_from=bases_from,
            versions=self.version_lines(source.versions, choice),
        )

    async def recipes(self, images: Images, suricata: bool = True) -> dict[str, str]:
        """The recipe digest of each of the images (ci.core.fingerprints), read from their inputs
        only: what a tarball exported before can be checked against, whichever engine."""
        target = parse_platform(images.platform)
        source = await self.source()
        choice = await self.suricata(target, suricata)
        ovs, base = await self.base_tags(target, choice.version, source.versions)
        go_image = self.go_image(source.versions)
        native = await self.platform("")
        recipe = PlatformRecipe(
            platform=str(target),
            ovs_tag=ovs,
            base_tag=base,
            bases_from=images.bases_from,
            distro_ref=await self._by_digest(self.inputs.distro_image, target, "distribution"),
            go_image_ref=await self._by_digest(go_image, native, "Go"),
            source_digest=await source.directory.digest(),
            version=f"{source.version.full} {source.version.ldflags(source.module_path)}",
            project=project_digest(),
        )
        return recipe.digests()

    async def everywhere(self, targets: list[Platform]) -> dict[Platform, Images]:
        """Build every platform concurrently; unless all built, fail naming each failure."""
        built: dict[Platform, Images] = {}
        failures: dict[Platform, str] = {}

        async def build_one(target: Platform) -> None:
            try:
                images = await self.images(str(target))
                for name in RELEASED:
                    await getattr(images, name).sync()
                built[target] = images
            except Exception as error:
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
