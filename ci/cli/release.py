"""`antrea-ci publish`, `publish-arch`, `merge` and `publish-base`: the release's pushes."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from dagger import dag

from ci.cli.options import (
    AuthOption,
    SummaryOption,
    TimingsOption,
    build_inputs,
    checked_namespace,
    checked_namespaces,
    checked_tag,
    option,
    parse_auth,
    platform_value,
    platform_values,
    read_password,
    to_build_inputs,
)
from ci.cli.routed import (
    EmulatedEnginesOption,
    EngineOption,
    RoutedPublish,
    engine_groups,
    publish_routed,
)
from ci.cli.running import Said, run, write_summary, write_timings
from ci.core.gate import GateTestsError, check_test_pattern
from ci.core.inputs import (
    GATE_TESTS,
    LATEST,
    NAMESPACE,
    NAMESPACES,
    OVERWRITE,
    PLATFORM,
    PLATFORMS,
    SURICATA,
    TAG,
)
from ci.core.platforms import Platform, default_platforms, runs_natively
from ci.core.say import to_stderr
from ci.core.summary import RunSummary, release_section
from ci.core.timings import RAN, StageRecord, StageTimes, progress_line
from ci.engine.record import EngineRecord
from ci.engine.routing import GO, READY
from ci.engine.session import engine_connection
from ci.images.builder import ImageBuilder
from ci.images.inputs import Credential
from ci.release.push import PublishError
from ci.release.release import Release

NamespacesOption = Annotated[list[str], option(NAMESPACES, callback=checked_namespaces)]
TagOption = Annotated[str, option(TAG, callback=checked_tag)]
PlatformsOption = Annotated[list[str] | None, option(PLATFORMS)]
LatestOption = Annotated[bool, option(LATEST)]
OverwriteOption = Annotated[bool, option(OVERWRITE)]


def checked_gate_tests(value: str) -> str:
    try:
        return check_test_pattern(value) if value else value
    except GateTestsError as error:
        raise typer.BadParameter(str(error)) from None


GateTestsOption = Annotated[str, option(GATE_TESTS, callback=checked_gate_tests)]


async def _print_all(references: Awaitable[list[str]]) -> None:
    for reference in await references:
        print(reference)


# The timings row of a held publish-arch: how long it waited for the other platforms.
HELD_STAGE = "held for the other platforms"


@dataclass
class WaitForGo:
    """A routed publish's hold: say on stdout that this platform is ready to push, then
    push only when stdin says GO (ci/engine/routing.py); seconds: how long it waited."""

    seconds: float = 0.0

    async def __call__(self) -> None:
        print(READY, flush=True)
        started = time.monotonic()
        answer = await anyio.to_thread.run_sync(sys.stdin.readline)
        self.seconds = time.monotonic() - started
        if answer.strip() != GO:
            raise PublishError(
                "called off before the first push: another platform of the release failed"
            )


def _release_command(
    command: str,
    inputs: dict[str, Any],
    auth: list[str] | None,
    targets: list[Platform] | None,
    action: Callable[[Release], Awaitable[list[str]]],
    timings: Path | None,
    summary: Path | None,
    builds: bool = True,
    gate_tests: str = "",
    held: WaitForGo | None = None,
) -> None:
    """Connect, hand the release its credentials (passwords read now, handed to the engine
    as secrets, never printed), run the action and print what it pushed. With held (the
    action's hold), the timings have a second row: the seconds it waited for the other
    platforms (the command's own work is the first row's seconds less those)."""
    credentials = [
        (registry, user, read_password(kind, where))
        for registry, user, kind, where in (parse_auth(item) for item in auth or [])
    ]
    times = StageTimes(command)
    record = EngineRecord()
    said = Said()
    pushed: list[str] = []

    async def main() -> None:
        async with engine_connection(record):
            started = time.monotonic()
            build = to_build_inputs(inputs)
            secrets = [
                Credential(registry, user, dag.set_secret(f"antrea-ci-registry-{index}", password))
                for index, (registry, user, password) in enumerate(credentials)
            ]
            builder = ImageBuilder(replace(build, credentials=secrets), said)
            engine = await builder.engine_platform()
            for reference in await action(Release(builder, gate_tests)):
                print(reference)
                pushed.append(reference)
            platforms = targets or ([engine] if command == "publish-arch" else default_platforms())
            label = ",".join(str(platform) for platform in platforms)
            emulated = builds and not all(runs_natively(p, engine) for p in platforms)
            done = times.record(label, command, time.monotonic() - started, emulated)
            to_stderr(progress_line(done))
            if held is not None:
                times.records.append(StageRecord(label, HELD_STAGE, held.seconds, False, RAN))
                to_stderr(f"[{label}] {HELD_STAGE}: {held.seconds:.1f}s before its first push")

    run(main)
    times.engine = record.as_dict()
    to_stderr(record.summary())
    write_timings(times, timings)
    report = RunSummary(f"antrea-ci {command}", times)
    report.sections.append(release_section(pushed, said.unchanged()))
    report.notes = [record.summary(), *said.notes()]
    write_summary(report, summary)


@build_inputs()
def publish(
    inputs: dict[str, Any],
    namespaces: NamespacesOption,
    tag: TagOption,
    platforms: PlatformsOption = None,
    latest: LatestOption = LATEST.default,
    overwrite: OverwriteOption = OVERWRITE.default,
    gate_tests: GateTestsOption = GATE_TESTS.default,
    engine: EngineOption = None,
    emulated_engines: EmulatedEnginesOption = False,
    auth: AuthOption = None,
    timings: TimingsOption = None,
    summary: SummaryOption = None,
) -> None:
    """Build the released images for every platform, then push multi-arch images."""
    targets = platform_values(platforms)
    if engine:
        groups = engine_groups(targets or default_platforms(), engine)
        shared = [
            *(argument for namespace in namespaces for argument in ("--namespace", namespace)),
            *["--tag", tag],
            *(["--overwrite"] if overwrite else []),
        ]
        plan = RoutedPublish(groups, inputs, shared, gate_tests, latest, auth, timings, summary)
        run(lambda: _print_all(publish_routed(plan, emulated_engines)))
        return
    _release_command(
        "publish",
        inputs,
        auth,
        targets,
        lambda release: release.publish(namespaces, tag, targets, latest, overwrite),
        timings,
        summary,
        gate_tests=gate_tests,
    )


@build_inputs()
def publish_arch(
    inputs: dict[str, Any],
    namespaces: NamespacesOption,
    tag: TagOption,
    platform: Annotated[str, option(PLATFORM)] = PLATFORM.default,
    overwrite: OverwriteOption = OVERWRITE.default,
    gate_tests: GateTestsOption = GATE_TESTS.default,
    hold: Annotated[
        bool,
        typer.Option(
            "--hold",
            hidden=True,
            help="Before the first push, say READY on stdout and push only on GO from stdin "
            "(how a routed publish runs this command on each engine).",
        ),
    ] = False,
    auth: AuthOption = None,
    timings: TimingsOption = None,
    summary: SummaryOption = None,
) -> None:
    """Push one platform's images under per-arch tags (for CI matrix jobs)."""
    target = platform_value(platform)
    held = WaitForGo() if hold else None
    _release_command(
        "publish-arch",
        inputs,
        auth,
        [target] if target else None,
        lambda release: release.publish_arch(namespaces, tag, target, overwrite, held),
        timings,
        summary,
        gate_tests=gate_tests,
        held=held,
    )


def merge(
    namespaces: NamespacesOption,
    tag: TagOption,
    platforms: PlatformsOption = None,
    latest: LatestOption = LATEST.default,
    overwrite: OverwriteOption = OVERWRITE.default,
    auth: AuthOption = None,
    timings: TimingsOption = None,
    summary: SummaryOption = None,
) -> None:
    """Push the multi-arch images of the per-arch tags publish-arch pushed."""
    targets = platform_values(platforms)
    _release_command(
        "merge",
        {},
        auth,
        targets,
        lambda release: release.merge(namespaces, tag, targets, latest, overwrite),
        timings,
        summary,
        builds=False,
    )


@build_inputs()
def publish_base(
    inputs: dict[str, Any],
    namespace: Annotated[str, option(NAMESPACE, callback=checked_namespace)],
    platforms: PlatformsOption = None,
    suricata: Annotated[bool, option(SURICATA)] = SURICATA.default,
    auth: AuthOption = None,
    timings: TimingsOption = None,
    summary: SummaryOption = None,
) -> None:
    """Build and push the OVS and base images under content-addressed tags."""
    targets = platform_values(platforms)
    _release_command(
        "publish-base",
        inputs,
        auth,
        targets,
        lambda release: release.publish_base(namespace, targets, suricata),
        timings,
        summary,
    )


def register(app: typer.Typer) -> None:
    app.command()(publish)
    app.command("publish-arch")(publish_arch)
    app.command()(merge)
    app.command("publish-base")(publish_base)
