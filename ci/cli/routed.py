"""`--engine PLATFORM=RUNNER_HOST` on build, test and publish: every engine checked before
any work (reachable, the client's Dagger version, a platform that runs its platforms), then
each engine's platforms in an antrea-ci process of its own (ci/engine/routing.py).

A routed publish runs publish-arch per platform on its engine, held before its first push
until every platform was built and gated, then merges the per-arch manifests into each
multi-arch index by digest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from ci.cli.options import input_arguments
from ci.cli.running import run
from ci.core.engines import (
    DEFAULT_ENGINE,
    RUNNER_VARIABLE,
    EngineGroup,
    EngineRouteError,
    group_by_engine,
    parse_routes,
    platform_arguments,
    process_timings,
)
from ci.core.platforms import Platform
from ci.doctor.probes import judged_engines
from ci.engine.routing import EngineFleet, EngineJob

CHECK_SECONDS = 60.0


def checked_routes(values: list[str] | None) -> list[str] | None:
    """The --engine values, refused as a usage error before anything connects."""
    try:
        parse_routes(values or [])
    except EngineRouteError as error:
        raise typer.BadParameter(str(error)) from None
    return values


def engine_groups(targets: Sequence[Platform], values: list[str]) -> list[EngineGroup]:
    """The run's platforms grouped by engine, refused as a usage error when a route names
    a platform the run does not build."""
    try:
        return group_by_engine(targets, parse_routes(values))
    except EngineRouteError as error:
        raise typer.BadParameter(str(error), param_hint="--engine") from None


EngineOption = Annotated[
    list[str] | None,
    typer.Option(
        "--engine",
        help="PLATFORM=RUNNER_HOST: do PLATFORM's work on that Dagger engine (tcp://, "
        "unix://, container://NAME, kube-pod://POD?namespace=NS, image://...); repeatable. "
        "Other platforms go to the default engine. Each engine is checked first.",
        callback=checked_routes,
    ),
]
EmulatedEnginesOption = Annotated[
    bool,
    typer.Option(
        "--emulated-engines",
        help="Let an --engine emulate a platform it does not run natively (refused otherwise).",
    ),
]


async def check_engines(groups: Sequence[EngineGroup], emulated_ok: bool) -> None:
    """Every engine an --engine names asked for its version and platform (judged_engines;
    the default engine is the one a run without --engine uses, started by the Dagger CLI
    when need be, and is not asked); an ExceptionGroup of one EngineRouteError per engine
    that cannot take its platforms."""
    judged = await judged_engines(groups, CHECK_SECONDS, emulated_ok)
    refusals = [EngineRouteError(refusal) for _, _, refusal in judged if refusal]
    if refusals:
        raise ExceptionGroup("engines refused", refusals)


def _own_file(path: Path | None, command: str, platforms: Sequence[Platform]) -> list[str]:
    """--timings for one process of several: the path (or the default one) with the
    platforms in its name."""
    chosen = path or Path("timings") / f"{command}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    return ["--timings", str(process_timings(chosen, platforms))]


def _common(auth: list[str] | None, summary: Path | None) -> list[str]:
    return [
        *(argument for item in auth or [] for argument in ("--auth", item)),
        *(["--summary", str(summary)] if summary else []),
    ]


async def build_routed(
    groups: Sequence[EngineGroup],
    emulated_ok: bool,
    inputs: dict[str, Any],
    output: Path,
    suricata: bool,
    timings: Path | None,
    summary: Path | None,
) -> None:
    """`antrea-ci build` of each engine's platforms on it, into the one output directory;
    what each printed, printed after its engine's name."""
    await check_engines(groups, emulated_ok)
    jobs = [
        EngineJob(
            group,
            [
                "build",
                *platform_arguments(group.platforms),
                *["--output", str(output)],
                *([] if suricata else ["--no-suricata"]),
                *input_arguments(inputs),
                *_own_file(timings, "build", group.platforms),
                *_common(None, summary),
            ],
        )
        for group in groups
    ]
    await EngineFleet().run(jobs)
    for job in jobs:
        print(f"== {job.name} on {job.group.label}")
        print("\n".join(job.stdout))


def route_one(target: Platform | None, values: list[str], emulated_ok: bool) -> Platform:
    """For a command of one platform (test): that platform (the one --engine names when
    --platform is not given), its engine checked, and this process pointed at it."""
    if target is None:
        routes = parse_routes(values)
        if len(routes) != 1:
            raise typer.BadParameter("name the platform to test", param_hint="--platform")
        (target,) = routes
    groups = engine_groups([target], values)
    run(lambda: check_engines(groups, emulated_ok))
    if groups[0].runner_host:
        os.environ[RUNNER_VARIABLE] = groups[0].runner_host
    return target


@dataclass(frozen=True)
class RoutedPublish:
    """The processes of a routed publish: publish-arch of each platform on its engine,
    held before its first push, then merge on the default engine. release: the options
    both commands take alike (namespaces, tag, overwrite)."""

    groups: Sequence[EngineGroup]
    inputs: dict[str, Any]
    release: list[str]
    gate_tests: str = ""
    latest: bool = False
    auth: list[str] | None = None
    timings: Path | None = None
    summary: Path | None = None

    def per_arch(self) -> list[EngineJob]:
        return [
            EngineJob(
                EngineGroup(group.runner_host, (platform,)),
                [
                    "publish-arch",
                    *platform_arguments([platform]),
                    *self.release,
                    *(["--gate-tests", self.gate_tests] if self.gate_tests else []),
                    *input_arguments(self.inputs),
                    "--hold",
                    *_own_file(self.timings, "publish-arch", [platform]),
                    *_common(self.auth, self.summary),
                ],
            )
            for group in self.groups
            for platform in group.platforms
        ]

    def merge(self) -> EngineJob:
        platforms = tuple(platform for group in self.groups for platform in group.platforms)
        return EngineJob(
            EngineGroup(DEFAULT_ENGINE, platforms),
            [
                "merge",
                *platform_arguments(platforms),
                *self.release,
                *(["--latest"] if self.latest else []),
                *(["--timings", str(self.timings)] if self.timings else []),
                *_common(self.auth, self.summary),
            ],
        )


async def publish_routed(plan: RoutedPublish, emulated_ok: bool) -> list[str]:
    """Every named engine checked, then the per-arch processes side by side, told to push
    once all are built and gated, then the merge. Returns the multi-arch references."""
    await check_engines(plan.groups, emulated_ok)
    fleet = EngineFleet()
    await fleet.run(plan.per_arch(), hold=True)
    merge = plan.merge()
    await fleet.run([merge])
    return merge.stdout
