"""The antrea module's main object: its inputs, then one function per thing it does.

Each function parses its arguments and hands them to the class of its area: the image
builder (ci/images), the unit-test runner (ci/testing), the release (ci/release). Inputs,
their help and defaults come from ci/core/inputs.py, which the command line shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

import dagger
from dagger import DefaultPath, Doc, Ignore, check, field, function, object_type

from ci.core.go_cache import CacheStoreError, DirectoryStore, RegistryStore, parse_store
from ci.core.inputs import (
    ALLOW_OVS_VERSION_MISMATCH,
    BASE_REGISTRY,
    BUILD_INPUTS,
    CACHE_FROM,
    CACHE_TO,
    COVERAGE,
    DISTRO_IMAGE,
    EXTRA_FLAGS,
    GATE_TESTS,
    GO_IMAGE,
    IPTABLES_WRAPPER_SOURCE,
    LATEST,
    NAMESPACE,
    NAMESPACES,
    OVERWRITE,
    OVS_TARBALL,
    PACKAGES,
    PLATFORM,
    PLATFORMS,
    RACE,
    RUN,
    SOURCE,
    SURICATA,
    TAG,
)
from ci.core.platforms import parse_optional, parse_platforms
from ci.images.builder import ImageBuilder, Images
from ci.images.inputs import BuildInputs, Credential
from ci.images.source import without_unread
from ci.release.release import RegistryAuth, Release
from ci.testing.checks import REPOSITORY_IGNORED, UnitTestChecks, check_repository
from ci.testing.unit_tests import TestSelection, UnitTestRunner, UnitTests, require_passed

# Side effects (pushes) must never be served from the function cache. dagger-io 0.21.8's
# overloads of `function` omit the `cache` keyword its implementation takes.
never_cached: Callable[[Callable[..., Any]], Callable[..., Any]] = cast(Any, function)(
    cache="never"
)

PlatformArg = Annotated[str, Doc(PLATFORM.help)]
PlatformsArg = Annotated[list[str] | None, Doc(PLATFORMS.help)]
SuricataArg = Annotated[bool, Doc(SURICATA.help)]
NamespacesArg = Annotated[list[str], Doc(NAMESPACES.help)]
TagArg = Annotated[str, Doc(TAG.help)]
LatestArg = Annotated[bool, Doc(LATEST.help)]
OverwriteArg = Annotated[bool, Doc(OVERWRITE.help)]
GateTestsArg = Annotated[str, Doc(GATE_TESTS.help)]
PackagesArg = Annotated[list[str] | None, Doc(PACKAGES.help)]
RunArg = Annotated[str, Doc(RUN.help)]
FlagsArg = Annotated[list[str] | None, Doc(EXTRA_FLAGS.help)]
CoverageArg = Annotated[bool, Doc(COVERAGE.help)]
RaceArg = Annotated[str, Doc(RACE.help)]


def module_store(text: str, option: str) -> RegistryStore | None:
    """A registry store given to the module; a directory is refused, saying what to do
    (a function runs in a container: this machine's directories are not there)."""
    store = parse_store(text) if text else None
    if isinstance(store, DirectoryStore):
        raise CacheStoreError(
            f"{option} {text}: under dagger call a directory store is handed over with "
            "--cache-from-dir DIR (restore) and written by antrea-ci (save); here give a "
            "registry repository"
        )
    return store


def _selection(
    packages: list[str] | None, run: str, extra_flags: list[str] | None, coverage: bool, race: str
) -> TestSelection:
    return TestSelection(
        tuple(packages or TestSelection.packages), run, tuple(extra_flags or ()), coverage, race
    )


@object_type
class Antrea:
    """Build Antrea's images for any Linux platform, with Go cross-compiled natively."""

    source: Annotated[dagger.Directory | None, Doc(SOURCE.help)] = None
    distro_image: Annotated[str, Doc(DISTRO_IMAGE.help)] = DISTRO_IMAGE.default
    go_image: Annotated[str, Doc(GO_IMAGE.help)] = GO_IMAGE.default
    ovs_tarball: Annotated[dagger.File | None, Doc(OVS_TARBALL.help)] = None
    allow_ovs_version_mismatch: Annotated[bool, Doc(ALLOW_OVS_VERSION_MISMATCH.help)] = (
        ALLOW_OVS_VERSION_MISMATCH.default
    )
    base_registry: Annotated[str, Doc(BASE_REGISTRY.help)] = BASE_REGISTRY.default
    iptables_wrapper_source: Annotated[
        dagger.Directory | None, Doc(IPTABLES_WRAPPER_SOURCE.help)
    ] = None
    cache_from: Annotated[str, Doc(CACHE_FROM.help)] = CACHE_FROM.default
    cache_to: Annotated[str, Doc(CACHE_TO.help)] = CACHE_TO.default
    cache_from_dir: Annotated[
        dagger.Directory | None,
        Doc("Go cache to restore: a directory antrea-ci saved to (--cache-to DIR)"),
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
        values = {spec.name: getattr(self, spec.name) for spec in BUILD_INPUTS}
        return ImageBuilder(
            BuildInputs(
                **{
                    **values,
                    "source": without_unread(self.source),
                    "cache_from": module_store(self.cache_from, CACHE_FROM.option),
                    "cache_to": module_store(self.cache_to, CACHE_TO.option),
                },
                cache_from_dir=self.cache_from_dir,
                credentials=[
                    Credential(auth.address, auth.username, auth.secret)
                    for auth in self.registry_auths
                ],
                local_registries=list(self.local_registries or []),
            )
        )

    # Images

    @function
    async def binaries(self, platform: PlatformArg = "") -> dagger.Directory:
        """The Go binaries of the released images for one platform, cross-compiled natively."""
        return await self._builder().binaries_for(parse_optional(platform))

    @function
    async def ovs(self, platform: PlatformArg = "") -> dagger.Container:
        """The Open vSwitch image: .debs built from the tarball in the target platform."""
        return (await self._builder().bases_for(parse_optional(platform), suricata=False))[0]

    @function
    async def base(
        self, platform: PlatformArg = "", suricata: SuricataArg = SURICATA.default
    ) -> dagger.Container:
        """The base image: OVS plus CNI plugins, the iptables wrapper and network tools."""
        return (await self._builder().bases_for(parse_optional(platform), suricata))[1]

    @function
    async def agent(
        self, platform: PlatformArg = "", suricata: SuricataArg = SURICATA.default
    ) -> dagger.Container:
        """The antrea-agent image for one platform."""
        return (await self._builder().build(parse_optional(platform), suricata)).agent

    @function
    async def controller(self, platform: PlatformArg = "") -> dagger.Container:
        """The antrea-controller image for one platform."""
        return await self._builder().controller_for(parse_optional(platform))

    @function
    async def flow_aggregator(self, platform: PlatformArg = "") -> dagger.Container:
        """The flow-aggregator image for one platform."""
        return await self._builder().flow_aggregator_for(parse_optional(platform))

    @function
    async def build(
        self, platform: PlatformArg = "", suricata: SuricataArg = SURICATA.default
    ) -> Images:
        """Every image of one platform, as fields (e.g. `build agent export`)."""
        return await self._builder().build(parse_optional(platform), suricata)

    # Unit tests

    @function
    async def test_report(
        self,
        platform: PlatformArg = "",
        packages: PackagesArg = None,
        run: RunArg = RUN.default,
        extra_flags: FlagsArg = None,
        coverage: CoverageArg = COVERAGE.default,
        race: RaceArg = RACE.default,
    ) -> UnitTests:
        """Run the Go unit tests in the target platform and report, even when some fail."""
        selection = _selection(packages, run, extra_flags, coverage, race)
        return await UnitTestRunner(self._builder()).run(parse_optional(platform), selection)

    @function
    async def test(
        self,
        platform: PlatformArg = "",
        packages: PackagesArg = None,
        run: RunArg = RUN.default,
        extra_flags: FlagsArg = None,
        coverage: CoverageArg = COVERAGE.default,
        race: RaceArg = RACE.default,
    ) -> UnitTests:
        """Run the Go unit tests in the target platform; fail naming the failed tests."""
        selection = _selection(packages, run, extra_flags, coverage, race)
        runner = UnitTestRunner(self._builder())
        return require_passed(await runner.run(parse_optional(platform), selection))

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
        latest: LatestArg = LATEST.default,
        overwrite: OverwriteArg = OVERWRITE.default,
        gate_tests: GateTestsArg = GATE_TESTS.default,
    ) -> list[str]:
        """Build every platform, then push one multi-arch image of each released image."""
        release = Release(self._builder(), gate_tests)
        return await release.publish(namespaces, tag, parse_platforms(platforms), latest, overwrite)

    @never_cached
    async def publish_arch(
        self,
        namespaces: NamespacesArg,
        tag: TagArg,
        platform: PlatformArg = "",
        overwrite: OverwriteArg = OVERWRITE.default,
        gate_tests: GateTestsArg = GATE_TESTS.default,
    ) -> list[str]:
        """Push one platform's released images under a per-arch tag (TAG-arm64, ...)."""
        release = Release(self._builder(), gate_tests)
        return await release.publish_arch(namespaces, tag, parse_optional(platform), overwrite)

    @never_cached
    async def merge(
        self,
        namespaces: NamespacesArg,
        tag: TagArg,
        platforms: PlatformsArg = None,
        latest: LatestArg = LATEST.default,
        overwrite: OverwriteArg = OVERWRITE.default,
    ) -> list[str]:
        """Push the multi-arch image of each per-arch tag that publish-arch pushed.

        The index references, by digest, the very manifests the per-arch pushes made.
        """
        release = Release(self._builder())
        return await release.merge(namespaces, tag, parse_platforms(platforms), latest, overwrite)

    @never_cached
    async def publish_base(
        self,
        namespace: Annotated[str, Doc(NAMESPACE.help)],
        platforms: PlatformsArg = None,
        suricata: SuricataArg = SURICATA.default,
    ) -> list[str]:
        """Build and push the OVS and base images of each platform under content tags."""
        release = Release(self._builder())
        return await release.publish_base(namespace, parse_platforms(platforms), suricata)
