"""The antrea module: typed functions that compose the image recipes of ci.images."""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import Doc, dag, field, function, object_type

from ci.images import agent as agent_recipe
from ci.images import base as base_recipe
from ci.images import controller as controller_recipe
from ci.images import golang
from ci.images import ovs as ovs_recipe
from ci.labels import oci_labels
from ci.platforms import Platform, parse_platform
from ci.source import AntreaSource, load_source
from ci.versions import pins

PlatformArg = Annotated[
    str, Doc("Target platform, e.g. linux/arm64 or linux/arm/v7 (default: the engine's own)")
]
SuricataArg = Annotated[bool, Doc("Install Suricata (from an Ubuntu PPA; Ubuntu images only)")]


class ImageError(RuntimeError):
    """An image reference that does not resolve for a platform."""


@object_type
class Images:
    """The four Antrea images of one platform."""

    platform: Annotated[str, Doc("The normalised target platform")] = field()
    version: Annotated[str, Doc("The version the binaries and labels carry")] = field()
    ovs: Annotated[dagger.Container, Doc("Open vSwitch built from its release tarball")] = field()
    base: Annotated[dagger.Container, Doc("OVS plus CNI plugins, iptables wrapper, tools")] = (
        field()
    )
    agent: Annotated[dagger.Container, Doc("The antrea-agent image")] = field()
    controller: Annotated[dagger.Container, Doc("The antrea-controller image")] = field()


@object_type
class Antrea:
    """Build Antrea's images for any Linux platform, with Go cross-compiled natively."""

    source: Annotated[
        dagger.Directory | None,
        Doc("Antrea source tree (default: the pinned upstream release)"),
    ] = None
    distro_image: Annotated[str, Doc("Distribution image of the runtime images")] = (
        pins().distro_image
    )
    go_image: Annotated[str, Doc("Go image that compiles the binaries")] = pins().go_image
    ovs_tarball: Annotated[
        dagger.File | None,
        Doc("Open vSwitch release tarball (default: the pinned release)"),
    ] = None
    iptables_wrapper_source: Annotated[
        dagger.Directory | None,
        Doc("kubernetes-sigs/iptables-wrappers source (default: the pinned commit)"),
    ] = None

    async def _platform(self, platform: str) -> Platform:
        return parse_platform(platform or str(await dag.default_platform()))

    async def _resolved(self, reference: str, platform: Platform, role: str) -> str:
        """The reference, once the registry confirmed it has an image for the platform."""
        try:
            await dag.container(platform=dagger.Platform(str(platform))).from_(reference).sync()
        except dagger.QueryError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "no detail"
            raise ImageError(
                f"the {role} image {reference!r} does not resolve for {platform}: {reason}"
            ) from None
        return reference

    async def _source(self) -> AntreaSource:
        tree = self.source or dag.git(pins().antrea_repository).tag(pins().antrea).tree()
        go_image = await self._resolved(self.go_image, await self._platform(""), "Go")
        return await load_source(tree, go_image)

    def _labels(self, title: str, source: AntreaSource) -> dict[str, str]:
        return oci_labels(title, pins().antrea_repository, source.version)

    async def _binaries(self, target: Platform, source: AntreaSource) -> dagger.Directory:
        return golang.antrea_binaries(
            golang.go_builder(self.go_image),
            source.directory,
            target,
            source.version,
            source.module_path,
            sorted({*agent_recipe.AGENT_COMMANDS, *controller_recipe.CONTROLLER_COMMANDS}),
        )

    async def _ovs(self, target: Platform) -> dagger.Container:
        distro = await self._resolved(self.distro_image, target, "distribution")
        tarball = self.ovs_tarball or dag.http(pins().ovs_tarball_url)
        tree = ovs_recipe.unpack(distro, tarball)
        return ovs_recipe.image(target, distro, await ovs_recipe.debs(target, distro, tree))

    def _base(
        self, target: Platform, ovs_image: dagger.Container, suricata: bool
    ) -> dagger.Container:
        builder = golang.go_builder(self.go_image)
        wrapper_source = self.iptables_wrapper_source or (
            dag.git(pins().iptables_wrapper_repository)
            .commit(pins().iptables_wrapper_commit)
            .tree()
        )
        return base_recipe.image(
            target,
            ovs_image,
            golang.cni_plugins(builder, target, pins().cni_plugins, pins().cni_plugin_names),
            golang.iptables_wrapper(builder, wrapper_source, target),
            suricata=suricata,
        )

    async def _controller(
        self, target: Platform, source: AntreaSource, binaries: dagger.Directory
    ) -> dagger.Container:
        distro = await self._resolved(self.distro_image, target, "distribution")
        labels = self._labels("antrea-controller", source)
        return controller_recipe.image(target, distro, binaries, labels)

    @function
    async def binaries(self, platform: PlatformArg = "") -> dagger.Directory:
        """The agent and controller Go binaries for one platform, cross-compiled natively."""
        return await self._binaries(await self._platform(platform), await self._source())

    @function
    async def ovs(self, platform: PlatformArg = "") -> dagger.Container:
        """The Open vSwitch image: .debs built from the tarball in the target platform."""
        return await self._ovs(await self._platform(platform))

    @function
    async def base(
        self, platform: PlatformArg = "", suricata: SuricataArg = False
    ) -> dagger.Container:
        """The base image: OVS plus CNI plugins, the iptables wrapper and network tools."""
        target = await self._platform(platform)
        return self._base(target, await self._ovs(target), suricata)

    @function
    async def agent(
        self, platform: PlatformArg = "", suricata: SuricataArg = False
    ) -> dagger.Container:
        """The antrea-agent image for one platform."""
        target = await self._platform(platform)
        source = await self._source()
        return agent_recipe.image(
            self._base(target, await self._ovs(target), suricata),
            await self._binaries(target, source),
            source.directory,
            self._labels("antrea-agent", source),
        )

    @function
    async def controller(self, platform: PlatformArg = "") -> dagger.Container:
        """The antrea-controller image for one platform."""
        target = await self._platform(platform)
        source = await self._source()
        return await self._controller(target, source, await self._binaries(target, source))

    async def build_images(self, platform: str = "", suricata: bool = False) -> Images:
        """All four images of one platform (the typed body of `build`, for Python callers)."""
        target = await self._platform(platform)
        source = await self._source()
        binaries = await self._binaries(target, source)
        ovs_image = await self._ovs(target)
        base_image = self._base(target, ovs_image, suricata)
        agent_labels = self._labels("antrea-agent", source)
        # dagger's field() is not a dataclass field specifier mypy knows.
        return Images(  # type: ignore[call-arg]
            platform=str(target),
            version=source.version.full,
            ovs=ovs_image,
            base=base_image,
            agent=agent_recipe.image(base_image, binaries, source.directory, agent_labels),
            controller=await self._controller(target, source, binaries),
        )

    @function
    async def build(self, platform: PlatformArg = "", suricata: SuricataArg = False) -> Images:
        """All four images of one platform, as fields (e.g. `build agent export`)."""
        return await self.build_images(platform, suricata)
