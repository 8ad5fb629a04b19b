"""antrea-ci: the command line front of the module, driving ci.main through the Dagger SDK."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
import dagger
import typer
from dagger import dag

from ci.images.unit_tests import RACE_MODES
from ci.main import Antrea, BuildFailure, ImageError, UnitTestFailure
from ci.matrix import ci_matrix
from ci.platforms import PlatformError, configured_platforms, parse_platform
from ci.publishing import PublishError
from ci.references import ImageReferenceError
from ci.report import StageTimes, tarball_name
from ci.versions import SourceError, pins

app = typer.Typer(
    help="Build, test and publish Antrea's images for every Linux platform.",
    no_args_is_help=True,
    add_completion=False,
)

SourceOption = Annotated[
    Path,
    typer.Option(help="Antrea source tree.", exists=True, file_okay=False, resolve_path=True),
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
    str, typer.Option(envvar="ANTREA_CI_GO_IMAGE", help="Go image that compiles the binaries.")
]
OvsTarballOption = Annotated[
    Path | None,
    typer.Option(
        help="Open vSwitch release tarball (default: the pinned release).",
        exists=True,
        dir_okay=False,
    ),
]
WrapperSourceOption = Annotated[
    Path | None,
    typer.Option(
        help="iptables-wrappers source tree (default: the pinned commit).",
        exists=True,
        file_okay=False,
    ),
]

BaseRegistryOption = Annotated[
    str, typer.Option(help="Namespace of published base images, reused when present.")
]

PINS = pins()
IMAGES = ("ovs", "base", "agent", "controller")
IMAGE_NAMES = {
    "ovs": "antrea-openvswitch",
    "base": "antrea-base",
    "agent": "antrea-agent",
    "controller": "antrea-controller",
}


def _platforms(values: list[str] | None) -> list[str]:
    """Normalised platforms, refused before anything connects or builds."""
    try:
        return [str(parse_platform(value)) for value in values or []]
    except PlatformError as error:
        raise typer.BadParameter(str(error), param_hint="--platform") from None


def _stage_done(times: StageTimes, platform: str, stage: str, started: float) -> None:
    """Record a finished stage and print its progress line."""
    seconds = time.monotonic() - started
    times.record(platform, stage, seconds)
    print(f"[{platform}] {stage} done in {seconds:.1f}s", file=sys.stderr, flush=True)


async def _build(antrea: Antrea, platforms: list[str], output: Path, times: StageTimes) -> None:
    async def one(requested: str) -> None:
        started = time.monotonic()
        images = await antrea.build_images(requested)
        platform = images.platform
        _stage_done(times, platform, "plan", started)
        for name in IMAGES:
            started = time.monotonic()
            container: dagger.Container = getattr(images, name)
            await container.sync()
            _stage_done(times, platform, name, started)
        started = time.monotonic()
        for name in IMAGES:
            container = getattr(images, name)
            await container.export(str(output / tarball_name(IMAGE_NAMES[name], platform)))
        _stage_done(times, platform, "export", started)

    async with anyio.create_task_group() as group:
        for platform in platforms or [""]:
            group.start_soon(one, platform)


@app.callback()
def antrea_ci() -> None:
    """Build, test and publish Antrea's images for every Linux platform."""


@app.command()
def build(
    source: SourceOption,
    platform: PlatformOption = None,
    output: Annotated[Path, typer.Option(help="Directory for the OCI tarballs.")] = Path("out"),
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = PINS.go_image,
    ovs_tarball: OvsTarballOption = None,
    iptables_wrapper_source: WrapperSourceOption = None,
    base_registry: BaseRegistryOption = "",
) -> None:
    """Build the four images for each platform, concurrently, into OCI tarballs."""
    platforms = _platforms(platform)
    output.mkdir(parents=True, exist_ok=True)
    times = StageTimes()

    async def run() -> None:
        async with _connection():
            # dagger's @object_type constructor is not visible to mypy.
            antrea = Antrea(  # type: ignore[call-arg]
                source=dag.host().directory(str(source)),
                distro_image=distro_image,
                go_image=go_image,
                ovs_tarball=dag.host().file(str(ovs_tarball)) if ovs_tarball else None,
                base_registry=base_registry,
                iptables_wrapper_source=(
                    dag.host().directory(str(iptables_wrapper_source))
                    if iptables_wrapper_source
                    else None
                ),
            )
            await _build(antrea, platforms, output, times)

    _run(run)
    print(times.table())
    print(f"OCI tarballs in {output}")


@app.command()
def test(
    source: SourceOption,
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
    go_image: GoImageOption = PINS.go_image,
) -> None:
    """Run Antrea's Go unit tests in a container; exit 1 when a test fails."""
    target = _platforms([platform])[0] if platform else ""
    if race not in RACE_MODES:
        raise typer.BadParameter(f"{race!r}: expected {', '.join(RACE_MODES)}", param_hint="--race")
    failed: list[str] = []

    async def run_tests() -> None:
        async with _connection():
            # dagger's @object_type constructor is not visible to mypy.
            antrea = Antrea(source=dag.host().directory(str(source)), go_image=go_image)  # type: ignore[call-arg]
            outcome = await antrea.unit_tests(
                target, package, run, coverage=coverage is not None, race=race
            )
            if junit:
                await outcome.junit.export(str(junit))
            if coverage and outcome.coverage:
                await outcome.coverage.export(str(coverage))
            state = "on" if outcome.race else "off"
            print(f"{outcome.platform} (race detector {state}): {outcome.summary}")
            if outcome.note:
                print(outcome.note)
            for name in [*outcome.failed_tests, *outcome.failed_packages]:
                print(f"FAIL {name}")
            failed.extend([*outcome.failed_tests, *outcome.failed_packages])

    _run(run_tests)
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
NamespaceOption = Annotated[
    list[str],
    typer.Option("--namespace", help="REGISTRY/NAMESPACE to push to; repeat for several."),
]
TagOption = Annotated[str, typer.Option(help="Image tag, e.g. v2.7.0.")]


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


def _publisher(
    source: Path, auth: list[str] | None, distro_image: str, go_image: str, base_registry: str
) -> Callable[[], Antrea]:
    """A factory of Antrea objects with credentials, once connected; passwords read now."""
    credentials = [
        (registry, user, _password(kind, where))
        for registry, user, kind, where in (parse_auth(item) for item in auth or [])
    ]

    def make() -> Antrea:
        # dagger's @object_type constructor is not visible to mypy.
        antrea = Antrea(  # type: ignore[call-arg]
            source=dag.host().directory(str(source)),
            distro_image=distro_image,
            go_image=go_image,
            base_registry=base_registry,
        )
        for index, (registry, user, password) in enumerate(credentials):
            secret = dag.set_secret(f"antrea-ci-registry-{index}", password)
            antrea = antrea.with_registry_auth(registry, user, secret)
        return antrea

    return make


def _publish_command(
    source: Path,
    auth: list[str] | None,
    distro_image: str,
    go_image: str,
    base_registry: str,
    action: Callable[[Antrea], Awaitable[list[str]]],
) -> None:
    make = _publisher(source, auth, distro_image, go_image, base_registry)

    async def run() -> None:
        async with _connection():
            for reference in await action(make()):
                print(reference)

    _run(run)


@app.command()
def publish(
    source: SourceOption,
    namespace: NamespaceOption,
    tag: TagOption,
    platform: PlatformOption = None,
    latest: Annotated[bool, typer.Option(help="Also tag latest.")] = False,
    auth: AuthOption = None,
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = PINS.go_image,
    base_registry: BaseRegistryOption = "",
) -> None:
    """Build agent and controller for every platform, then push multi-arch images."""
    platforms = _platforms(platform) or None
    _publish_command(
        source,
        auth,
        distro_image,
        go_image,
        base_registry,
        lambda antrea: antrea.publish(namespace, tag, platforms, latest),
    )


@app.command("publish-arch")
def publish_arch(
    source: SourceOption,
    namespace: NamespaceOption,
    tag: TagOption,
    platform: Annotated[str, typer.Option("--platform", "-p", help="The platform to push.")] = "",
    auth: AuthOption = None,
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = PINS.go_image,
    base_registry: BaseRegistryOption = "",
) -> None:
    """Push one platform's images under per-arch tags (for CI matrix jobs)."""
    target = _platforms([platform])[0] if platform else ""
    _publish_command(
        source,
        auth,
        distro_image,
        go_image,
        base_registry,
        lambda antrea: antrea.publish_arch(namespace, tag, target),
    )


@app.command()
def merge(
    source: SourceOption,
    namespace: NamespaceOption,
    tag: TagOption,
    platform: PlatformOption = None,
    latest: Annotated[bool, typer.Option(help="Also tag latest.")] = False,
    auth: AuthOption = None,
) -> None:
    """Push the multi-arch images of the per-arch tags publish-arch pushed."""
    platforms = _platforms(platform) or None
    _publish_command(
        source,
        auth,
        PINS.distro_image,
        PINS.go_image,
        "",
        lambda antrea: antrea.merge(namespace, tag, platforms, latest),
    )


@app.command("publish-base")
def publish_base(
    source: SourceOption,
    namespace: Annotated[str, typer.Option(help="REGISTRY/NAMESPACE of the base images.")],
    platform: PlatformOption = None,
    auth: AuthOption = None,
    distro_image: DistroImageOption = PINS.distro_image,
    go_image: GoImageOption = PINS.go_image,
) -> None:
    """Build and push the OVS and base images under content-addressed tags."""
    platforms = _platforms(platform) or None
    _publish_command(
        source,
        auth,
        distro_image,
        go_image,
        "",
        lambda antrea: antrea.publish_base(namespace, platforms),
    )


@app.command()
def matrix(
    fallback_runner: Annotated[
        str | None,
        typer.Option(help="Run every job on this runner (emulating foreign platforms)."),
    ] = None,
) -> None:
    """Print the CI matrix (JSON) of the platforms in build/platforms.toml."""
    print(json.dumps(ci_matrix(configured_platforms(), fallback_runner)))


def _connection() -> contextlib.AbstractAsyncContextManager[Any]:
    """A connection to the engine; its logs go to stderr when ANTREA_CI_ENGINE_LOGS is set."""
    verbose = bool(os.environ.get("ANTREA_CI_ENGINE_LOGS"))
    return dagger.connection(dagger.Config(log_output=sys.stderr if verbose else None))


def _run(main: Callable[[], Awaitable[None]]) -> None:
    """Run an async entry point; errors the user can fix end in one line and exit 1."""
    try:
        anyio.run(main)
    except* (
        PlatformError,
        SourceError,
        ImageError,
        UnitTestFailure,
        BuildFailure,
        PublishError,
        ImageReferenceError,
    ) as group:
        for error in group.exceptions:
            print(f"error: {error}", file=sys.stderr)
        raise typer.Exit(1) from None
    except* dagger.DaggerError as failures:
        for failure in failures.exceptions:
            print(f"error: {failure}", file=sys.stderr)
            if isinstance(failure, dagger.ExecError):
                print(f"command: {' '.join(failure.command)}", file=sys.stderr)
                print(failure.stderr.rstrip()[-4000:], file=sys.stderr)
        raise typer.Exit(1) from None


def main() -> None:
    app()
