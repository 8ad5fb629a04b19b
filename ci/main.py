"""The antrea module's main object: its inputs, then one function per thing it does.

Each concern lives in its own file: building images (ci.images.builder), unit tests
(ci.testing.unit_tests) and publishing (ci.release.release); the functions here only delegate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

import dagger
from dagger import DefaultPath, Doc, Ignore, check, field, function, object_type

from ci.core.versions import pins
from ci.images.builder import BuildInputs, ImageBuilder, Images
from ci.images.source import without_unread
from ci.release.push import Credential
from ci.release.release import RegistryAuth, Release
from ci.testing.checks import REPOSITORY_IGNORED, UnitTestChecks, check_repository
from ci.testing.unit_tests import UnitTests, require_passed, run_unit_tests

# Side effects (pushes) must never be served from the function cache. dagger-io 0.21.8's
# overloads of `function` omit the `cache` keyword its implementation takes.
never_cached: Callable[[Callable[..., Any]], Callable[..., Any]] = cast(Any, function)(
    cache="never"
)

PlatformArg = Annotated[
    str, Doc("Target platform, e.g. linux/arm64 or linux/arm/v7 (default: the engine's own)")
]
SuricataArg = Annotated[
    bool,
    Doc("Install Suricata from its Ubuntu PPA, as upstream does (left out, saying so, elsewhere)"),
]
NamespacesArg = Annotated[
    list[str],
    Doc("Where to push, REGISTRY/NAMESPACE each, e.g. docker.io/antrea ghcr.io/antrea-io"),
]
TagArg = Annotated[str, Doc("Image tag, e.g. v2.7.0")]
PlatformsArg = Annotated[
    list[str] | None, Doc("Target platforms (default: those of build/platforms.toml)")
]
LatestArg = Annotated[bool, Doc("Also tag latest")]
OverwriteArg = Annotated[
    bool, Doc("Move a release tag (v*) that already holds other content (refused otherwise)")
]
PackagesArg = Annotated[
    list[str] | None, Doc("Package patterns (default: cmd, pkg and multicluster, like upstream)")
]
RunArg = Annotated[str, Doc("Only tests matching this -run regular expression")]
FlagsArg = Annotated[list[str] | None, Doc("Extra `go test` flags")]
CoverageArg = Annotated[bool, Doc("Write a coverage profile")]
RaceArg = Annotated[
    str,
    Doc("Race detector: auto (where Go has it and the platform runs natively), on or off"),
]


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
    go_image: Annotated[
        str, Doc("Go image that compiles the binaries (default: golang:<the tree's Go version>)")
    ] = ""
    ovs_tarball: Annotated[
        dagger.File | None,
        Doc("Open vSwitch release tarball (default: the release the tree pins)"),
    ] = None
    allow_ovs_version_mismatch: Annotated[
        bool, Doc("Build an OVS tarball whose version is not the one the tree pins")
    ] = False
    base_registry: Annotated[
        str,
        Doc("Namespace where publish-base pushed OVS and base images, reused when present"),
    ] = ""
    iptables_wrapper_source: Annotated[
        dagger.Directory | None,
        Doc("kubernetes-sigs/iptables-wrappers source (default: the commit the tree pins)"),
    ] = None

    local_registries: Annotated[
        list[dagger.Service] | None,
        Doc(
            "Registries on this machine's loopback that publishing reads, as"
            " tcp://127.0.0.1:PORT: functions run in a container, whose loopback is not"
            " this machine's"
        ),
    ] = None

    registry_auths: list[RegistryAuth] = field(default=list, init=False)

    def _builder(self) -> ImageBuilder:
        credentials = [Credential(a.address, a.username, a.secret) for a in self.registry_auths]
        return ImageBuilder(
            BuildInputs(
                source=without_unread(self.source),
                distro_image=self.distro_image,
                go_image=self.go_image,
                ovs_tarball=self.ovs_tarball,
                allow_ovs_version_mismatch=self.allow_ovs_version_mismatch,
                base_registry=self.base_registry,
                iptables_wrapper_source=self.iptables_wrapper_source,
                credentials=credentials,
                local_registries=list(self.local_registries or []),
            )
        )

    # Images

    @function
    async def binaries(self, platform: PlatformArg = "") -> dagger.Directory:
        """The Go binaries of the released images for one platform, cross-compiled natively."""
        builder = self._builder()
        return builder.binaries(await builder.platform(platform), await builder.source())

    @function
    async def ovs(self, platform: PlatformArg = "") -> dagger.Container:
        """The Open vSwitch image: .debs built from the tarball in the target platform."""
        builder = self._builder()
        ovs_image, _, _ = await builder.bases(await builder.platform(platform), "")
        return ovs_image

    @function
    async def base(
        self, platform: PlatformArg = "", suricata: SuricataArg = True
    ) -> dagger.Container:
        """The base image: OVS plus CNI plugins, the iptables wrapper and network tools."""
        builder = self._builder()
        target = await builder.platform(platform)
        choice = await builder.suricata(target, suricata)
        _, base_image, _ = await builder.bases(target, choice.version)
        return base_image

    @function
    async def agent(
        self, platform: PlatformArg = "", suricata: SuricataArg = True
    ) -> dagger.Container:
        """The antrea-agent image for one platform."""
        return (await self.build_images(platform, suricata)).agent

    @function
    async def controller(self, platform: PlatformArg = "") -> dagger.Container:
        """The antrea-controller image for one platform."""
        builder = self._builder()
        target = await builder.platform(platform)
        source = await builder.source()
        return await builder.controller(target, source, builder.binaries(target, source))

    @function
    async def flow_aggregator(self, platform: PlatformArg = "") -> dagger.Container:
        """The flow-aggregator image for one platform."""
        builder = self._builder()
        target = await builder.platform(platform)
        source = await builder.source()
        return await builder.flow_aggregator(target, source, builder.binaries(target, source))

    async def build_images(self, platform: str = "", suricata: bool = True) -> Images:
        """Every image of one platform (the typed body of `build`, for Python callers)."""
        return await self._builder().images(platform, suricata)

    async def image_recipes(self, images: Images, suricata: bool = True) -> dict[str, str]:
        """The recipe digest of each image built (for Python callers: `build --output`)."""
        return await self._builder().recipes(images, suricata)

    @function
    async def build(self, platform: PlatformArg = "", suricata: SuricataArg = True) -> Images:
        """Every image of one platform, as fields (e.g. `build agent export`)."""
        return await self.build_images(platform, suricata)

    # Unit tests

    async def unit_test_outcome(
        self,
        platform: str = "",
        packages: list[str] | None = None,
        run: str = "",
        extra_flags: list[str] | None = None,
        coverage: bool = False,
        race: str = "auto",
    ) -> UnitTests:
        """Run the unit tests and report, whatever their outcome (typed body of `test`)."""
        return await run_unit_tests(
            self._builder(), platform, packages, run, extra_flags, coverage, race
        )

    @function
    async def test_report(
        self,
        platform: PlatformArg = "",
        packages: PackagesArg = None,
        run: RunArg = "",
        extra_flags: FlagsArg = None,
        coverage: CoverageArg = False,
        race: RaceArg = "auto",
    ) -> UnitTests:
        """Run the Go unit tests in the target platform and report, even when some fail."""
        return await self.unit_test_outcome(platform, packages, run, extra_flags, coverage, race)

    @function
    async def test(
        self,
        platform: PlatformArg = "",
        packages: PackagesArg = None,
        run: RunArg = "",
        extra_flags: FlagsArg = None,
        coverage: CoverageArg = False,
        race: RaceArg = "auto",
    ) -> UnitTests:
        """Run the Go unit tests in the target platform; fail naming the failed tests."""
        outcome = await self.unit_test_outcome(platform, packages, run, extra_flags, coverage, race)
        return require_passed(outcome)

    @function
    def unit_tests(self) -> UnitTestChecks:
        """Antrea's unit tests as checks, one per configured platform (`dagger check`)."""
        # dagger's field() is not a dataclass field specifier mypy knows.
        return UnitTestChecks(  # type: ignore[call-arg]
            source=without_unread(self.source),
            distro_image=self.distro_image,
            go_image=self.go_image,
        )

    # Checks of this repository

    @function
    @check
    async def repository(
        self,
        repository: Annotated[
            dagger.Directory,
            DefaultPath("/"),
            Ignore(REPOSITORY_IGNORED),
            Doc("This repository (default: the module's own)"),
        ],
    ) -> None:
        """This repository's lint (ruff), types (mypy) and the tests that need no engine."""
        await check_repository(repository)

    # Release

    @function
    def with_registry_auth(
        self,
        address: Annotated[str, Doc("Registry host, e.g. ghcr.io")],
        username: Annotated[str, Doc("User name")],
        secret: Annotated[dagger.Secret, Doc("Password or token")],
    ) -> Antrea:
        """Use these credentials when pushing to (and pulling from) a registry."""
        # dagger's field() is not a dataclass field specifier mypy knows.
        auth = RegistryAuth(address=address, username=username, secret=secret)  # type: ignore[call-arg]
        self.registry_auths = [*self.registry_auths, auth]
        return self

    @never_cached
    async def publish(
        self,
        namespaces: NamespacesArg,
        tag: TagArg,
        platforms: PlatformsArg = None,
        latest: LatestArg = False,
        overwrite: OverwriteArg = False,
    ) -> list[str]:
        """Build every platform, then push one multi-arch image of each released image."""
        return await Release(self._builder()).publish(namespaces, tag, platforms, latest, overwrite)

    @never_cached
    async def publish_arch(
        self, namespaces: NamespacesArg, tag: TagArg, platform: PlatformArg = ""
    ) -> list[str]:
        """Push one platform's released images under a per-arch tag (TAG-arm64, ...)."""
        return await Release(self._builder()).publish_arch(namespaces, tag, platform)

    @never_cached
    async def merge(
        self,
        namespaces: NamespacesArg,
        tag: TagArg,
        platforms: PlatformsArg = None,
        latest: LatestArg = False,
        overwrite: OverwriteArg = False,
    ) -> list[str]:
        """Push the multi-arch image of each per-arch tag that publish-arch pushed.

        The index references, by digest, the very manifests the per-arch pushes made.
        """
        return await Release(self._builder()).merge(namespaces, tag, platforms, latest, overwrite)

    @never_cached
    async def publish_base(
        self,
        namespace: Annotated[str, Doc("REGISTRY/NAMESPACE of the base images")],
        platforms: PlatformsArg = None,
        suricata: SuricataArg = True,
    ) -> list[str]:
        """Build and push the OVS and base images of each platform under content tags."""
        return await Release(self._builder()).publish_base(namespace, platforms, suricata)
