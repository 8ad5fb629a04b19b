"""The antrea module: typed functions that compose the image recipes of ci.images."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, cast

import anyio
import dagger
from dagger import Doc, dag, field, function, object_type

from ci import debian
from ci.base_images import BASE_IMAGE, OVS_IMAGE, base_tag, code_digest, ovs_tag
from ci.errors import first_line, silent_exec_hint
from ci.gotest import FAIL, PASS, SKIP, junit_xml, parse_go_test_json
from ci.images import agent as agent_recipe
from ci.images import apt as apt_recipe
from ci.images import base as base_recipe
from ci.images import controller as controller_recipe
from ci.images import golang
from ci.images import ovs as ovs_recipe
from ci.images import unit_tests as unit_tests_recipe
from ci.labels import oci_labels
from ci.platforms import Platform, default_platforms, parse_platform, runs_natively
from ci.publishing import Credential, pull, push, push_indexes
from ci.references import Repository, arch_tag, check_tag, parse_repository
from ci.source import AntreaSource, AntreaTree, check_tree, load_source
from ci.versions import BuildVersions, pins

# Side effects (pushes) must never be served from the function cache. dagger-io 0.21.8's
# overloads of `function` omit the `cache` keyword its implementation takes.
never_cached: Callable[[Callable[..., Any]], Callable[..., Any]] = cast(Any, function)(
    cache="never"
)

IMAGES_TO_PUBLISH: dict[str, Callable[[Images], dagger.Container]] = {
    "antrea-agent": lambda images: images.agent,
    "antrea-controller": lambda images: images.controller,
}

PlatformArg = Annotated[
    str, Doc("Target platform, e.g. linux/arm64 or linux/arm/v7 (default: the engine's own)")
]
SuricataArg = Annotated[bool, Doc("Install Suricata (from an Ubuntu PPA; Ubuntu images only)")]


class UnitTestFailure(RuntimeError):
    """Unit tests that failed; the message names them."""


class BuildFailure(RuntimeError):
    """Platforms whose images did not build; nothing was pushed."""


# The Go commands the agent and controller images hold, built once for both.
ANTREA_COMMANDS = sorted({*agent_recipe.AGENT_COMMANDS, *controller_recipe.CONTROLLER_COMMANDS})


class ImageError(RuntimeError):
    """An image that does not resolve for a platform, or does not fit what is asked."""


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
    emulated: Annotated[bool, Doc("Whether the engine emulates the platform")] = field()
    bases_from: Annotated[
        str, Doc("Namespace the OVS and base images were pulled from; empty when built here")
    ] = field()
    versions: Annotated[
        list[str], Doc("The versions used (OVS, CNI plugins, Go, ...), each with its origin")
    ] = field()


@object_type
class UnitTests:
    """The outcome of Antrea's Go unit tests on one platform."""

    platform: Annotated[str, Doc("The platform the tests ran on")] = field()
    race: Annotated[bool, Doc("Whether the race detector was on")] = field()
    emulated: Annotated[bool, Doc("Whether the engine emulated the platform")] = field()
    note: Annotated[str, Doc("Why the race detector was off, when it was")] = field()
    passed: Annotated[int, Doc("Tests that passed")] = field()
    failed: Annotated[int, Doc("Tests that failed")] = field()
    skipped: Annotated[int, Doc("Tests that were skipped")] = field()
    failed_tests: Annotated[list[str], Doc("package.Test of each failed test")] = field()
    failed_packages: Annotated[
        list[str], Doc("Packages that failed outside any test (build errors, crashes)")
    ] = field()
    summary: Annotated[str, Doc("One line: packages, passed, failed, skipped, duration")] = field()
    json_report: Annotated[dagger.File, Doc("The `go test -json` output")] = field()
    junit: Annotated[dagger.File, Doc("The report as JUnit XML")] = field()
    coverage: Annotated[dagger.File | None, Doc("Coverage profile, when asked for")] = field()


@object_type
class RegistryAuth:
    """Credentials for one registry host."""

    address: Annotated[str, Doc("Registry host, e.g. ghcr.io or docker.io")] = field()
    username: Annotated[str, Doc("User name")] = field()
    secret: Annotated[dagger.Secret, Doc("Password or token")] = field()


NamespacesArg = Annotated[
    list[str],
    Doc("Where to push, REGISTRY/NAMESPACE each, e.g. docker.io/antrea ghcr.io/antrea-io"),
]
TagArg = Annotated[str, Doc("Image tag, e.g. v2.7.0")]
PlatformsArg = Annotated[
    list[str] | None, Doc("Target platforms (default: those of build/platforms.toml)")
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

    registry_auths: list[RegistryAuth] = field(default=list, init=False)

    async def _platform(self, platform: str) -> Platform:
        return parse_platform(platform or str(await dag.default_platform()))

    async def _resolved(self, reference: str, platform: Platform, role: str) -> str:
        """The reference, once the registry confirmed it has an image for the platform."""
        try:
            await dag.container(platform=dagger.Platform(str(platform))).from_(reference).sync()
        except dagger.QueryError as error:
            reason = first_line(str(error))
            raise ImageError(
                f"the {role} image {reference!r} does not resolve for {platform}: {reason}"
            ) from None
        return reference

    async def _tree(self) -> AntreaTree:
        directory = self.source or dag.git(pins().antrea_repository).tag(pins().antrea).tree()
        return await check_tree(directory)

    def _go_image(self, versions: BuildVersions) -> str:
        return self.go_image or f"golang:{versions.go.value}"

    def _version_lines(self, versions: BuildVersions) -> list[str]:
        """The versions a build uses and where each came from, for the user to read."""
        go_image = f"go-image {self._go_image(versions)} "
        go_image += "(--go-image)" if self.go_image else f"(golang:<go {versions.go.value}>)"
        return [*versions.lines(), go_image]

    async def _source(self) -> AntreaSource:
        tree = await self._tree()
        go_image = await self._resolved(
            self._go_image(tree.versions), await self._platform(""), "Go"
        )
        return await load_source(tree, go_image)

    def _labels(self, title: str, source: AntreaSource) -> dict[str, str]:
        return oci_labels(title, pins().antrea_repository, source.version)

    def _binaries(self, target: Platform, source: AntreaSource) -> dagger.Directory:
        return golang.antrea_binaries(
            golang.go_builder(self._go_image(source.versions)),
            source.directory,
            target,
            source.version,
            source.module_path,
            ANTREA_COMMANDS,
        )

    def _ovs_tarball(self, versions: BuildVersions) -> dagger.File:
        return self.ovs_tarball or dag.http(versions.ovs_tarball_url(pins().ovs_releases_url))

    def _wrapper_source(self, versions: BuildVersions) -> dagger.Directory:
        return self.iptables_wrapper_source or (
            dag.git(pins().iptables_wrapper_repository)
            .commit(versions.iptables_wrapper.value)
            .tree()
        )

    async def _ovs_built(self, target: Platform, versions: BuildVersions) -> dagger.Container:
        distro = await self._resolved(self.distro_image, target, "distribution")
        tarball = self._ovs_tarball(versions)
        tree = ovs_recipe.unpack(distro, tarball)
        pinned = None if self.allow_ovs_version_mismatch else versions.ovs
        debs = await ovs_recipe.debs(target, distro, tree, await tarball.name(), pinned)
        return ovs_recipe.image(target, distro, debs)

    def _base_built(
        self,
        target: Platform,
        ovs_image: dagger.Container,
        suricata: bool,
        versions: BuildVersions,
    ) -> dagger.Container:
        builder = golang.go_builder(self._go_image(versions))
        cni = golang.cni_plugins(
            builder, target, versions.cni_plugins.value, pins().cni_plugin_names
        )
        return base_recipe.image(
            target,
            ovs_image,
            cni,
            golang.iptables_wrapper(builder, self._wrapper_source(versions), target),
            suricata_version=versions.suricata.value if suricata else "",
        )

    async def _base_tags(
        self, target: Platform, suricata: bool, versions: BuildVersions
    ) -> tuple[str, str]:
        """The content-addressed tags of the OVS and base images of a platform."""
        distro = await self._resolved(self.distro_image, target, "distribution")
        distro_ref = (
            await dag.container(platform=dagger.Platform(str(target))).from_(distro).image_ref()
        )
        ovs = ovs_tag(
            target,
            await self._ovs_tarball(versions).digest(),
            distro_ref,
            code_digest([ovs_recipe, apt_recipe, debian]),
        )
        base = base_tag(
            ovs,
            versions,
            pins().cni_plugin_names,
            await self._wrapper_source(versions).digest(),
            self._go_image(versions),
            code_digest([base_recipe, golang, apt_recipe]),
            suricata,
        )
        return ovs, base

    async def _reused(
        self, target: Platform, repository: Repository, tag: str
    ) -> dagger.Container | None:
        """The image at repository:tag when the registry has it; None (with a warning when
        the registry cannot be reached) when it must be built here."""
        reference = repository.tagged(tag)
        try:
            return await pull(target, repository, tag, self._credentials()).sync()
        except dagger.QueryError as error:
            reason = first_line(str(error), "")
            if not any(word in reason.lower() for word in ("not found", "manifest unknown", "404")):
                print(
                    f"warning: base registry unusable for {reference} ({reason}): building locally",
                    file=sys.stderr,
                )
            return None

    async def _check_ubuntu(self, target: Platform) -> None:
        """Suricata comes from an Ubuntu PPA: refuse another distribution up front."""
        distro = await self._resolved(self.distro_image, target, "distribution")
        os_release = await (
            dag.container(platform=dagger.Platform(str(target)))
            .from_(distro)
            .file("/etc/os-release")
            .contents()
        )
        found = debian.os_release_id(os_release) or "unknown"
        if found != "ubuntu":
            raise ImageError(
                f"--suricata needs an Ubuntu distribution image (Suricata comes from an "
                f"Ubuntu PPA), but {distro!r} is {found}"
            )

    async def _bases(
        self, target: Platform, suricata: bool
    ) -> tuple[dagger.Container, dagger.Container, str]:
        """The OVS and base images, pulled from the base registry when it has them (with
        the namespace they came from), else built here (with an empty namespace)."""
        if suricata:
            await self._check_ubuntu(target)
        versions = (await self._tree()).versions
        if self.base_registry:
            namespace = parse_repository(self.base_registry)
            ovs, base = await self._base_tags(target, suricata, versions)
            pulled_ovs = await self._reused(target, namespace.child(OVS_IMAGE), ovs)
            pulled_base = await self._reused(target, namespace.child(BASE_IMAGE), base)
            if pulled_ovs and pulled_base:
                return pulled_ovs, pulled_base, str(namespace)
        ovs_image = await self._ovs_built(target, versions)
        return ovs_image, self._base_built(target, ovs_image, suricata, versions), ""

    async def _controller(
        self, target: Platform, source: AntreaSource, binaries: dagger.Directory
    ) -> dagger.Container:
        distro = await self._resolved(self.distro_image, target, "distribution")
        labels = self._labels("antrea-controller", source)
        return controller_recipe.image(target, distro, binaries, labels)

    @function
    async def binaries(self, platform: PlatformArg = "") -> dagger.Directory:
        """The agent and controller Go binaries for one platform, cross-compiled natively."""
        return self._binaries(await self._platform(platform), await self._source())

    @function
    async def ovs(self, platform: PlatformArg = "") -> dagger.Container:
        """The Open vSwitch image: .debs built from the tarball in the target platform."""
        ovs_image, _, _ = await self._bases(await self._platform(platform), False)
        return ovs_image

    @function
    async def base(
        self, platform: PlatformArg = "", suricata: SuricataArg = False
    ) -> dagger.Container:
        """The base image: OVS plus CNI plugins, the iptables wrapper and network tools."""
        _, base_image, _ = await self._bases(await self._platform(platform), suricata)
        return base_image

    @function
    async def agent(
        self, platform: PlatformArg = "", suricata: SuricataArg = False
    ) -> dagger.Container:
        """The antrea-agent image for one platform."""
        target = await self._platform(platform)
        source = await self._source()
        _, base_image, _ = await self._bases(target, suricata)
        return agent_recipe.image(
            base_image,
            self._binaries(target, source),
            source.directory,
            self._labels("antrea-agent", source),
        )

    @function
    async def controller(self, platform: PlatformArg = "") -> dagger.Container:
        """The antrea-controller image for one platform."""
        target = await self._platform(platform)
        source = await self._source()
        return await self._controller(target, source, self._binaries(target, source))

    async def unit_tests(
        self,
        platform: str = "",
        packages: list[str] | None = None,
        run: str = "",
        extra_flags: list[str] | None = None,
        coverage: bool = False,
        race: str = "auto",
    ) -> UnitTests:
        """Run the unit tests and report, whatever their outcome (typed body of `test`)."""
        target = await self._platform(platform)
        source = await self._source()
        go_image = await self._resolved(self._go_image(source.versions), target, "Go")
        native = runs_natively(target, await self._platform(""))
        with_race, note = unit_tests_recipe.race_decision(target, native, race)
        command = unit_tests_recipe.go_test_command(
            packages or unit_tests_recipe.DEFAULT_PACKAGES, with_race, run, extra_flags, coverage
        )
        ran = unit_tests_recipe.run_unit_tests(target, go_image, source.directory, command)
        results = ran.directory(unit_tests_recipe.RESULTS_DIR)
        json_report = results.file("go-test.json")
        report = parse_go_test_json((await json_report.contents()).splitlines())
        if await ran.exit_code() != 0 and report.ok:
            raise UnitTestFailure(
                f"go test failed on {target} without a test result: {report.summary()}"
            )
        # dagger's field() is not a dataclass field specifier mypy knows.
        return UnitTests(  # type: ignore[call-arg]
            platform=str(target),
            race=with_race,
            emulated=not native,
            note=note,
            passed=report.count(PASS),
            failed=report.count(FAIL),
            skipped=report.count(SKIP),
            failed_tests=[f"{test.package}.{test.name}" for test in report.failed_tests],
            failed_packages=[
                package.name or "(build)"
                for package in report.failed_packages
                if not any(test.package == package.name for test in report.failed_tests)
            ],
            summary=report.summary(),
            json_report=json_report,
            junit=dag.directory().with_new_file("junit.xml", junit_xml(report)).file("junit.xml"),
            coverage=results.file("coverage.out") if coverage else None,
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
        return await self.unit_tests(platform, packages, run, extra_flags, coverage, race)

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
        outcome = await self.unit_tests(platform, packages, run, extra_flags, coverage, race)
        failures = [*outcome.failed_tests, *outcome.failed_packages]
        if failures:
            raise UnitTestFailure(
                f"{len(failures)} tests or packages failed on {outcome.platform}: "
                + ", ".join(failures)
            )
        return outcome

    async def build_images(self, platform: str = "", suricata: bool = False) -> Images:
        """All four images of one platform (the typed body of `build`, for Python callers)."""
        target = await self._platform(platform)
        source = await self._source()
        binaries = self._binaries(target, source)
        ovs_image, base_image, bases_from = await self._bases(target, suricata)
        agent_labels = self._labels("antrea-agent", source)
        # dagger's field() is not a dataclass field specifier mypy knows.
        return Images(  # type: ignore[call-arg]
            platform=str(target),
            version=source.version.full,
            ovs=ovs_image,
            base=base_image,
            agent=agent_recipe.image(base_image, binaries, source.directory, agent_labels),
            controller=await self._controller(target, source, binaries),
            emulated=not runs_natively(target, await self._platform("")),
            bases_from=bases_from,
            versions=self._version_lines(source.versions),
        )

    @function
    async def build(self, platform: PlatformArg = "", suricata: SuricataArg = False) -> Images:
        """All four images of one platform, as fields (e.g. `build agent export`)."""
        return await self.build_images(platform, suricata)

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

    def _credentials(self) -> list[Credential]:
        return [Credential(a.address, a.username, a.secret) for a in self.registry_auths]

    async def _targets(self, platforms: list[str] | None) -> list[Platform]:
        if not platforms:
            return default_platforms()
        return [await self._platform(platform) for platform in platforms]

    async def built_everywhere(self, targets: list[Platform]) -> dict[Platform, Images]:
        """Build every platform concurrently; unless all built, fail naming each failure."""
        built: dict[Platform, Images] = {}
        failures: dict[Platform, str] = {}

        async def build_one(target: Platform) -> None:
            try:
                images = await self.build_images(str(target))
                await images.agent.sync()
                await images.controller.sync()
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

    async def _push_images(
        self, built: dict[Platform, Images], repositories: list[Repository], tags: list[str]
    ) -> list[str]:
        published = []
        for name, pick in IMAGES_TO_PUBLISH.items():
            variants = {target: pick(images) for target, images in built.items()}
            for repository in repositories:
                for tag in tags:
                    published.append(
                        await push(variants, repository.child(name), tag, self._credentials())
                    )
        return published

    @never_cached
    async def publish(
        self,
        namespaces: NamespacesArg,
        tag: TagArg,
        platforms: PlatformsArg = None,
        latest: Annotated[bool, Doc("Also tag latest")] = False,
    ) -> list[str]:
        """Build agent and controller for every platform, then push one multi-arch image each."""
        repositories = [parse_repository(namespace) for namespace in namespaces]
        tags = [check_tag(tag), *(["latest"] if latest else [])]
        built = await self.built_everywhere(await self._targets(platforms))
        return await self._push_images(built, repositories, tags)

    @never_cached
    async def publish_arch(
        self, namespaces: NamespacesArg, tag: TagArg, platform: PlatformArg = ""
    ) -> list[str]:
        """Push one platform's agent and controller under a per-arch tag (TAG-arm64, ...)."""
        repositories = [parse_repository(namespace) for namespace in namespaces]
        target = await self._platform(platform)
        built = await self.built_everywhere([target])
        return await self._push_images(built, repositories, [arch_tag(tag, target)])

    @never_cached
    async def merge(
        self,
        namespaces: NamespacesArg,
        tag: TagArg,
        platforms: PlatformsArg = None,
        latest: Annotated[bool, Doc("Also tag latest")] = False,
    ) -> list[str]:
        """Push the multi-arch image of each per-arch tag that publish-arch pushed.

        The index references, by digest, the very manifests the per-arch pushes made.
        """
        repositories = [parse_repository(namespace) for namespace in namespaces]
        tags = [check_tag(tag), *(["latest"] if latest else [])]
        per_arch = {target: arch_tag(tag, target) for target in await self._targets(platforms)}
        images = [repo.child(name) for name in IMAGES_TO_PUBLISH for repo in repositories]
        return await push_indexes(images, per_arch, tags, self._credentials())

    @never_cached
    async def publish_base(
        self,
        namespace: Annotated[str, Doc("REGISTRY/NAMESPACE of the base images")],
        platforms: PlatformsArg = None,
        suricata: SuricataArg = False,
    ) -> list[str]:
        """Build and push the OVS and base images of each platform under content tags."""
        repository = parse_repository(namespace)
        published = []
        versions = (await self._tree()).versions
        for target in await self._targets(platforms):
            ovs, base = await self._base_tags(target, suricata, versions)
            ovs_image = await self._ovs_built(target, versions)
            base_image = self._base_built(target, ovs_image, suricata, versions)
            credentials = self._credentials()
            published.append(
                await push({target: ovs_image}, repository.child(OVS_IMAGE), ovs, credentials)
            )
            published.append(
                await push({target: base_image}, repository.child(BASE_IMAGE), base, credentials)
            )
        return published
