"""antrea-ci: the command line front of the module, driving ci.main through the Dagger SDK."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import anyio
import dagger
import typer
from dagger import dag

from ci.core import export_stamp
from ci.core.baseline import BaselineError, compare, comparison_table, load_timings
from ci.core.catalog import BASES, BUILT_ON, IMAGE_NAMES, local_names
from ci.core.errors import ENGINE_GONE, distinct, leaves, lost_engine_reason, silent_exec_hint
from ci.core.matrix import ci_matrix
from ci.core.platforms import PlatformError, configured_platforms, parse_platform, runs_natively
from ci.core.references import ImageReferenceError, check_tag, parse_repository
from ci.core.timings import RAN, StageTimes, cache_state, tarball_name
from ci.core.versions import SourceError, pins
from ci.doctor.probes import diagnose
from ci.doctor.verdicts import exit_code, report
from ci.engine.session import engine_connection
from ci.images.builder import BuildFailure, ImageError, Images
from ci.images.docker_load import DockerLoadError, load_image
from ci.images.ovs import OvsTarballError
from ci.images.source import UPLOAD_EXCLUDES
from ci.main import Antrea
from ci.release.push import PublishError
from ci.testing.containers import RACE_MODES, RaceDetectorUnavailable
from ci.testing.unit_tests import UnitTestFailure

app = typer.Typer(
    help="Build, test and publish Antrea's images for every Linux platform.",
    no_args_is_help=True,
    add_completion=False,
)

SourceOption = Annotated[
    Path | None,
    typer.Option(
        help="Antrea source tree (default: the pinned release, ANTREA_VERSION).",
        exists=True,
        file_okay=False,
        resolve_path=True,
    ),
]
PlatformOption = Annotated[
    list[str] | None,
    typer.Option(
        "--platform", "-p", help="Target platform; repeat for several (default: the engine's)."
    ),
]
DistroImageOption = Annotated[
    str,
    typer.Option(envvar="ANTREA_CI_DISTRO_IMAGE", help="Distribution image of the runtime images."),
]
GoImageOption = Annotated[
    str,
    typer.Option(
        envvar="ANTREA_CI_GO_IMAGE",
        help="Go image that compiles the binaries (default: golang:<the tree's Go version>).",
    ),
]
OvsMismatchOption = Annotated[
    bool,
    typer.Option(help="Build an OVS tarball whose version is not the one the tree pins."),
]
OvsTarballOption = Annotated[
    Path | None,
    typer.Option(
        envvar="ANTREA_CI_OVS_TARBALL",
        help="Open vSwitch release tarball (default: the release the tree pins).",
        exists=True,
        dir_okay=False,
    ),
]
WrapperSourceOption = Annotated[
    Path | None,
    typer.Option(
        envvar="ANTREA_CI_IPTABLES_WRAPPER_SOURCE",
        help="iptables-wrappers source tree (default: the pinned commit).",
        exists=True,
        file_okay=False,
    ),
]

TimingsOption = Annotated[
    Path | None,
    typer.Option(
        help="Write each stage's duration here as JSON "
        "(default: timings/COMMAND-TIME.json), for `antrea-ci baseline compare`."
    ),
]
BaseRegistryOption = Annotated[
    str, typer.Option(help="Namespace of published base images, reused when present.")
]

PINS = pins()
CONFIGURED = [str(entry.platform) for entry in configured_platforms()]


@dataclass(frozen=True)
class BuildInputs:
    """What the module's main object is made of, as the command line gives it."""

    source: Path | None = None
    distro_image: str = PINS.distro_image
    go_image: str = ""
    ovs_tarball: Path | None = None
    iptables_wrapper_source: Path | None = None
    base_registry: str = ""
    allow_ovs_version_mismatch: bool = False

    def antrea(self) -> Antrea:
        """The main object (once connected to the engine)."""
        host = dag.host()
        wrapper = self.iptables_wrapper_source
        # dagger's @object_type constructor is not visible to mypy.
        return Antrea(  # type: ignore[call-arg]
            source=(
                host.directory(str(self.source), exclude=UPLOAD_EXCLUDES) if self.source else None
            ),
            distro_image=self.distro_image,
            go_image=self.go_image,
            ovs_tarball=host.file(str(self.ovs_tarball)) if self.ovs_tarball else None,
            base_registry=self.base_registry,
            iptables_wrapper_source=host.directory(str(wrapper)) if wrapper else None,
            allow_ovs_version_mismatch=self.allow_ovs_version_mismatch,
        )


def _platforms(values: list[str] | None) -> list[str]:
    """Normalised platforms, refused before anything connects or builds."""
    try:
        return [str(parse_platform(value)) for value in values or []]
    except PlatformError as error:
        raise typer.BadParameter(str(error), param_hint="--platform") from None


def _say_done(platform: str, stage: str, seconds: float, emulated: bool, cache: str) -> None:
    """Print a finished stage's progress line."""
    how = ", ".join([*(["emulated"] if emulated else []), *([cache] if cache != RAN else [])])
    detail = f" ({how})" if how else ""
    print(f"[{platform}] {stage} done in {seconds:.1f}s{detail}", file=sys.stderr, flush=True)


def _stage_done(
    times: StageTimes,
    platform: str,
    stage: str,
    started: float,
    emulated: bool = False,
    pulled: bool = False,
) -> None:
    """Record a finished stage and print its progress line."""
    done = times.record(platform, stage, time.monotonic() - started, emulated, pulled)
    _say_done(platform, stage, done.seconds, emulated, done.cache)


async def _sync_images(images: Images, times: StageTimes, planned: float) -> None:
    """Build the platform's images at once; each stage's time runs from when the image it
    is built on was done (BUILT_ON), else from the plan. Recorded in build order."""
    platform, emulated = images.platform, images.emulated
    finished: dict[str, float] = {}
    ready = {name: anyio.Event() for name in IMAGE_NAMES}
    seconds: dict[str, float] = {}

    def pulled(name: str) -> bool:
        return name in BASES and bool(images.bases_from)

    async def sync(name: str) -> None:
        container: dagger.Container = getattr(images, name)
        await container.sync()
        now = time.monotonic()
        after = BUILT_ON[name]
        if after:
            await ready[after].wait()
        begun = finished[after] if after else planned
        finished[name] = max(now, begun)
        seconds[name] = finished[name] - begun
        ready[name].set()
        _say_done(platform, name, seconds[name], emulated, cache_state(seconds[name], pulled(name)))

    async with anyio.create_task_group() as group:
        for name in IMAGE_NAMES:
            group.start_soon(sync, name)
    for name in IMAGE_NAMES:
        times.record(platform, name, seconds[name], emulated, pulled(name))


def _write_timings(times: StageTimes, path: Path | None) -> None:
    """Write the run's timings for `antrea-ci baseline compare`."""
    target = path or Path("timings") / f"{times.command}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(times.to_json())
    print(f"timings in {target}", file=sys.stderr)


async def _load(output: Path, platform: str, times: StageTimes, emulated: bool) -> None:
    """Load a platform's released images into the local Docker daemon under upstream's names."""
    started = time.monotonic()
    for name, local in local_names().items():
        await load_image(output / tarball_name(IMAGE_NAMES[name], platform), local)
        print(f"loaded {local} ({platform})", file=sys.stderr, flush=True)
    _stage_done(times, platform, "load", started, emulated)


async def _build(
    antrea: Antrea,
    platforms: list[str],
    output: Path,
    times: StageTimes,
    load: bool = False,
    suricata: bool = True,
) -> None:
    """Build the platforms concurrently, export their tarballs and, with `load`, load them
    into Docker (one platform only: Docker keeps one platform per name)."""

    async def one(requested: str) -> None:
        started = begun = time.monotonic()
        images = await antrea.build_images(requested, suricata)
        platform, emulated = images.platform, images.emulated
        if not times.versions:
            times.versions = images.versions
            print("versions: " + "; ".join(images.versions), file=sys.stderr, flush=True)
        _stage_done(times, platform, "plan", started, emulated)
        await _sync_images(images, times, time.monotonic())
        started = time.monotonic()
        kept = []
        recipes = await antrea.image_recipes(images, suricata)
        for name in IMAGE_NAMES:
            container = getattr(images, name)
            tarball = output / tarball_name(IMAGE_NAMES[name], platform)
            if export_stamp.unchanged(tarball, recipes[name]):
                kept.append(tarball.name)
                continue
            export_stamp.forget(tarball)
            await container.export(str(tarball))
            export_stamp.record(tarball, recipes[name])
        if kept:
            print(f"unchanged, not exported again: {', '.join(kept)}", file=sys.stderr)
        _stage_done(times, platform, "export", started, emulated)
        if load:
            await _load(output, platform, times, emulated)
        times.took(platform, time.monotonic() - begun)

    async with anyio.create_task_group() as group:
        for platform in platforms or [""]:
            group.start_soon(one, platform)


@app.callback()
def antrea_ci() -> None:
    """Build, test and publish Antrea's images for every Linux platform."""


@app.command()
def build(
    source: SourceOption = None,
    platform: PlatformOption = None,
    output: Annotated[Path, typer.Option(help="Directory for the OCI tarballs.")] = Path("out"),
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = "",
    ovs_tarball: OvsTarballOption = None,
    allow_ovs_version_mismatch: OvsMismatchOption = False,
    iptables_wrapper_source: WrapperSourceOption = None,
    base_registry: BaseRegistryOption = "",
    timings: TimingsOption = None,
    load: Annotated[
        bool,
        typer.Option(
            "--load",
            help="Then load agent, controller and flow-aggregator into the local Docker "
            "daemon as antrea/<name>:latest (one platform only).",
        ),
    ] = False,
    suricata: Annotated[
        bool,
        typer.Option(
            help="Suricata in the base image, from its Ubuntu PPA (left out, saying so, on "
            "another distribution)."
        ),
    ] = True,
) -> None:
    """Build every image for each platform, concurrently, into OCI tarballs."""
    platforms = _platforms(platform)
    if load and len(platforms) > 1:
        raise typer.BadParameter(
            "--load takes one platform: Docker keeps one platform per image name",
            param_hint="--platform",
        )
    output.mkdir(parents=True, exist_ok=True)
    times = StageTimes("build")

    inputs = BuildInputs(
        source,
        distro_image,
        go_image,
        ovs_tarball,
        iptables_wrapper_source,
        base_registry,
        allow_ovs_version_mismatch,
    )

    async def run() -> None:
        async with engine_connection():
            await _build(inputs.antrea(), platforms, output, times, load, suricata)

    _run(run)
    print(times.table())
    print(f"OCI tarballs in {output}")
    _write_timings(times, timings)


@app.command()
def test(
    source: SourceOption = None,
    platform: Annotated[
        str, typer.Option("--platform", "-p", help="Platform to test on (default: the engine's).")
    ] = "",
    package: Annotated[
        list[str] | None, typer.Option("--package", help="Package pattern; repeat for several.")
    ] = None,
    run: Annotated[str, typer.Option(help="Only tests matching this regular expression.")] = "",
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML report here.")] = None,
    coverage: Annotated[Path | None, typer.Option(help="Write the coverage profile here.")] = None,
    race: Annotated[
        str, typer.Option(help="auto (where Go has it, natively), on or off.")
    ] = "auto",
    go_image: GoImageOption = "",
    timings: TimingsOption = None,
) -> None:
    """Run Antrea's Go unit tests in a container; exit 1 when a test fails."""
    target = _platforms([platform])[0] if platform else ""
    if race not in RACE_MODES:
        raise typer.BadParameter(f"{race!r}: expected {', '.join(RACE_MODES)}", param_hint="--race")
    failed: list[str] = []
    times = StageTimes("test")

    async def run_tests() -> None:
        async with engine_connection():
            started = time.monotonic()
            antrea = BuildInputs(source, go_image=go_image).antrea()
            outcome = await antrea.unit_test_outcome(
                target, package, run, coverage=coverage is not None, race=race
            )
            _stage_done(times, outcome.platform, "unit-tests", started, outcome.emulated)
            if junit:
                await outcome.junit.export(str(junit))
            if coverage and outcome.coverage:
                await outcome.coverage.export(str(coverage))
            how = f"race detector {'on' if outcome.race else 'off'}"
            if outcome.compiled_on != outcome.platform:
                how += f", compiled on {outcome.compiled_on}"
            print(f"{outcome.platform} ({how}): {outcome.summary}")
            if outcome.note:
                print(outcome.note)
            for name in [*outcome.failed_tests, *outcome.failed_packages]:
                print(f"FAIL {name}")
            failed.extend([*outcome.failed_tests, *outcome.failed_packages])

    _run(run_tests)
    _write_timings(times, timings)
    if failed:
        raise typer.Exit(1)


AuthOption = Annotated[
    list[str] | None,
    typer.Option(
        "--auth",
        help="REGISTRY=USER:env:VARIABLE or REGISTRY=USER:file:PATH; the password is read "
        "from there and handed to the engine as a secret. Repeat per registry.",
    ),
]


def _checked_namespaces(values: list[str]) -> list[str]:
    """The namespaces, refused before anything connects or builds when one is invalid."""
    try:
        for value in values:
            parse_repository(value)
    except ImageReferenceError as error:
        raise typer.BadParameter(str(error)) from None
    return values


def _checked_tag(value: str) -> str:
    try:
        return check_tag(value)
    except ImageReferenceError as error:
        raise typer.BadParameter(str(error)) from None


NamespaceOption = Annotated[
    list[str],
    typer.Option(
        "--namespace",
        help="REGISTRY/NAMESPACE to push to; repeat for several.",
        callback=_checked_namespaces,
    ),
]
TagOption = Annotated[str, typer.Option(help="Image tag, e.g. v2.7.0.", callback=_checked_tag)]
OverwriteOption = Annotated[
    bool,
    typer.Option(help="Move a release tag (v*) that already holds other content."),
]


def parse_auth(text: str) -> tuple[str, str, str, str]:
    """Split REGISTRY=USER:env:VAR or REGISTRY=USER:file:PATH (pure)."""
    registry, _, rest = text.partition("=")
    user, _, source = rest.partition(":")
    kind, _, where = source.partition(":")
    if not registry or not user or kind not in ("env", "file") or not where:
        raise typer.BadParameter(
            f"{text!r}: expected REGISTRY=USER:env:VARIABLE or REGISTRY=USER:file:PATH",
            param_hint="--auth",
        )
    return registry, user, kind, where


def _password(kind: str, where: str) -> str:
    if kind == "env":
        if where not in os.environ:
            raise typer.BadParameter(
                f"environment variable {where} is not set", param_hint="--auth"
            )
        return os.environ[where]
    try:
        return Path(where).read_text().strip()
    except OSError as error:
        raise typer.BadParameter(
            f"cannot read {where}: {error.strerror}", param_hint="--auth"
        ) from None


def _publisher(inputs: BuildInputs, auth: list[str] | None) -> Callable[[], Antrea]:
    """A factory of Antrea objects with credentials, once connected; passwords read now."""
    credentials = [
        (registry, user, _password(kind, where))
        for registry, user, kind, where in (parse_auth(item) for item in auth or [])
    ]

    def make() -> Antrea:
        antrea = inputs.antrea()
        for index, (registry, user, password) in enumerate(credentials):
            secret = dag.set_secret(f"antrea-ci-registry-{index}", password)
            antrea = antrea.with_registry_auth(registry, user, secret)
        return antrea

    return make


async def _targets(platforms: list[str]) -> tuple[str, bool]:
    """The platforms (the engine's when none is given) as one label, and whether the engine
    emulates any of them."""
    engine = parse_platform(str(await dag.default_platform()))
    targets = [parse_platform(platform) for platform in platforms] or [engine]
    label = ",".join(str(target) for target in targets)
    return label, not all(runs_natively(target, engine) for target in targets)


def _publish_command(
    inputs: BuildInputs,
    auth: list[str] | None,
    action: Callable[[Antrea], Awaitable[list[str]]],
    *,
    command: str,
    platforms: list[str],
    timings: Path | None,
    builds: bool = True,
) -> None:
    make = _publisher(inputs, auth)
    times = StageTimes(command)

    async def run() -> None:
        async with engine_connection():
            started = time.monotonic()
            for reference in await action(make()):
                print(reference)
            label, emulated = await _targets(platforms)
            _stage_done(times, label, times.command, started, builds and emulated)

    _run(run)
    _write_timings(times, timings)


@app.command()
def publish(
    namespace: NamespaceOption,
    tag: TagOption,
    source: SourceOption = None,
    platform: PlatformOption = None,
    latest: Annotated[bool, typer.Option(help="Also tag latest.")] = False,
    overwrite: OverwriteOption = False,
    auth: AuthOption = None,
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = "",
    ovs_tarball: OvsTarballOption = None,
    allow_ovs_version_mismatch: OvsMismatchOption = False,
    iptables_wrapper_source: WrapperSourceOption = None,
    base_registry: BaseRegistryOption = "",
    timings: TimingsOption = None,
) -> None:
    """Build the released images for every platform, then push multi-arch images."""
    platforms = _platforms(platform) or None
    _publish_command(
        BuildInputs(
            source,
            distro_image,
            go_image,
            ovs_tarball,
            iptables_wrapper_source,
            base_registry,
            allow_ovs_version_mismatch,
        ),
        auth,
        lambda antrea: antrea.publish(namespace, tag, platforms, latest, overwrite),
        command="publish",
        platforms=platforms or CONFIGURED,
        timings=timings,
    )


@app.command("publish-arch")
def publish_arch(
    namespace: NamespaceOption,
    tag: TagOption,
    source: SourceOption = None,
    platform: Annotated[str, typer.Option("--platform", "-p", help="The platform to push.")] = "",
    auth: AuthOption = None,
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = "",
    ovs_tarball: OvsTarballOption = None,
    allow_ovs_version_mismatch: OvsMismatchOption = False,
    iptables_wrapper_source: WrapperSourceOption = None,
    base_registry: BaseRegistryOption = "",
    timings: TimingsOption = None,
) -> None:
    """Push one platform's images under per-arch tags (for CI matrix jobs)."""
    target = _platforms([platform])[0] if platform else ""
    _publish_command(
        BuildInputs(
            source,
            distro_image,
            go_image,
            ovs_tarball,
            iptables_wrapper_source,
            base_registry,
            allow_ovs_version_mismatch,
        ),
        auth,
        lambda antrea: antrea.publish_arch(namespace, tag, target),
        command="publish-arch",
        platforms=[target] if target else [],
        timings=timings,
    )


@app.command()
def merge(
    namespace: NamespaceOption,
    tag: TagOption,
    platform: PlatformOption = None,
    latest: Annotated[bool, typer.Option(help="Also tag latest.")] = False,
    overwrite: OverwriteOption = False,
    auth: AuthOption = None,
    timings: TimingsOption = None,
) -> None:
    """Push the multi-arch images of the per-arch tags publish-arch pushed."""
    platforms = _platforms(platform) or None
    _publish_command(
        BuildInputs(),
        auth,
        lambda antrea: antrea.merge(namespace, tag, platforms, latest, overwrite),
        command="merge",
        platforms=platforms or CONFIGURED,
        timings=timings,
        builds=False,
    )


@app.command("publish-base")
def publish_base(
    namespace: Annotated[
        str,
        typer.Option(
            help="REGISTRY/NAMESPACE of the base images.",
            callback=lambda value: _checked_namespaces([value])[0],
        ),
    ],
    source: SourceOption = None,
    platform: PlatformOption = None,
    auth: AuthOption = None,
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = "",
    ovs_tarball: OvsTarballOption = None,
    allow_ovs_version_mismatch: OvsMismatchOption = False,
    iptables_wrapper_source: WrapperSourceOption = None,
    timings: TimingsOption = None,
) -> None:
    """Build and push the OVS and base images under content-addressed tags."""
    platforms = _platforms(platform) or None
    _publish_command(
        BuildInputs(
            source,
            distro_image,
            go_image,
            ovs_tarball,
            iptables_wrapper_source,
            allow_ovs_version_mismatch=allow_ovs_version_mismatch,
        ),
        auth,
        lambda antrea: antrea.publish_base(namespace, platforms),
        command="publish-base",
        platforms=platforms or CONFIGURED,
        timings=timings,
    )


@app.command()
def doctor(
    registry: Annotated[
        list[str] | None,
        typer.Option("--registry", help="Registry HOST[:PORT] that must answer; repeatable."),
    ] = None,
    probe_image: Annotated[
        str,
        typer.Option(
            envvar="ANTREA_CI_DISTRO_IMAGE",
            help="Multi-platform image that runs `uname -m` on each configured platform.",
        ),
    ] = PINS.distro_image,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each answer of the engine.")
    ] = 300.0,
) -> None:
    """Check what a run needs and say how to fix what is missing; exit 1 when a check fails."""
    platforms = [entry.platform for entry in configured_platforms()]
    results = anyio.run(diagnose, registry or [], probe_image, platforms, timeout)
    print(report(results))
    raise typer.Exit(exit_code(results))


@app.command()
def matrix(
    fallback_runner: Annotated[
        str | None,
        typer.Option(help="Run every job on this runner (emulating foreign platforms)."),
    ] = None,
) -> None:
    """Print the CI matrix (JSON) of the platforms in build/platforms.toml."""
    print(json.dumps(ci_matrix(configured_platforms(), fallback_runner)))


baseline_app = typer.Typer(help="Build-time baselines: compare the timings of two runs.")
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("compare")
def baseline_compare(
    old: Annotated[Path, typer.Argument(help="Timings of the baseline run (JSON).")],
    new: Annotated[Path, typer.Argument(help="Timings of the run to check (JSON).")],
    max_slowdown: Annotated[
        float, typer.Option(help="Percent a stage may be slower than the baseline.")
    ] = 20.0,
    min_seconds: Annotated[
        float, typer.Option(help="Seconds a stage may be slower whatever the percentage.")
    ] = 5.0,
) -> None:
    """Print both runs' stages side by side; exit 1 when a stage got too much slower."""
    try:
        changes = compare(load_timings(old), load_timings(new), max_slowdown, min_seconds)
    except BaselineError as error:
        raise typer.BadParameter(str(error)) from None
    print(comparison_table(changes))
    slower = [f"{c.platform} {c.stage}" for c in changes if c.slower]
    if slower:
        print(f"slower than the baseline by more than {max_slowdown:g}%: " + ", ".join(slower))
        raise typer.Exit(1)


# Errors the user can fix: each ends in one line and exit 1.
USER_ERRORS = (
    PlatformError,
    SourceError,
    ImageError,
    UnitTestFailure,
    RaceDetectorUnavailable,
    BuildFailure,
    PublishError,
    ImageReferenceError,
    OvsTarballError,
    DockerLoadError,
)


def _say_failure(failure: BaseException) -> None:
    print(f"error: {failure}", file=sys.stderr)
    if isinstance(failure, dagger.ExecError):
        print(f"command: {' '.join(failure.command)}", file=sys.stderr)
        print(failure.stderr.rstrip()[-4000:], file=sys.stderr)
        hint = silent_exec_hint(failure.stdout, failure.stderr)
        if hint:
            print(hint, file=sys.stderr)


def _run(main: Callable[[], Awaitable[None]]) -> None:
    """Run an async entry point; errors the user can fix end in one line each and exit 1,
    a lost engine in one line whatever else failed with it."""
    try:
        anyio.run(main)
    except Exception as error:
        failures = distinct(leaves(error))
        lost = [reason for reason in map(lost_engine_reason, failures) if reason]
        if lost:
            print(f"error: {ENGINE_GONE.format(reason=lost[0])}", file=sys.stderr)
            raise typer.Exit(1) from None
        if not all(isinstance(f, (*USER_ERRORS, dagger.DaggerError)) for f in failures):
            raise
        for failure in failures:
            _say_failure(failure)
        raise typer.Exit(1) from None


def main() -> None:
    app()
