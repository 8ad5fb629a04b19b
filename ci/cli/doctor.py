"""`antrea-ci doctor` and `antrea-ci matrix`: what a run needs, and the CI matrix."""

from __future__ import annotations

import json
from typing import Annotated

import anyio
import typer

from ci.cli.routed import EmulatedEnginesOption, EngineOption
from ci.core.engines import parse_routes
from ci.core.inputs import DISTRO_IMAGE
from ci.core.matrix import ci_matrix
from ci.core.platforms import configured_platforms
from ci.doctor.probes import diagnose
from ci.doctor.verdicts import exit_code, verdict_table


def doctor(
    registry: Annotated[
        list[str] | None,
        typer.Option("--registry", help="Registry HOST[:PORT] that must answer; repeatable."),
    ] = None,
    probe_image: Annotated[
        str,
        typer.Option(
            envvar=DISTRO_IMAGE.env,
            help="Multi-platform image that runs `uname -m` on each configured platform.",
        ),
    ] = DISTRO_IMAGE.default,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each answer of the engine.")
    ] = 300.0,
    engine: EngineOption = None,
    emulated_engines: EmulatedEnginesOption = False,
) -> None:
    """Check what a run needs and say how to fix what is missing; exit 1 when a check fails."""
    platforms = [entry.platform for entry in configured_platforms()]
    routes = parse_routes(engine or [])
    results = anyio.run(
        diagnose, registry or [], probe_image, platforms, timeout, routes, emulated_engines
    )
    print(verdict_table(results))
    raise typer.Exit(exit_code(results))


def matrix(
    fallback_runner: Annotated[
        str | None,
        typer.Option(help="Run every job on this runner (emulating foreign platforms)."),
    ] = None,
) -> None:
    """Print the CI matrix (JSON) of the platforms in build/platforms.toml."""
    print(json.dumps(ci_matrix(configured_platforms(), fallback_runner)))
