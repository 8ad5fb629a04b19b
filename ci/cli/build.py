"""`antrea-ci build`: every image of each platform into OCI tarballs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ci.cli.options import (
    SummaryOption,
    TimingsOption,
    build_inputs,
    option,
    platform_values,
    to_build_inputs,
)
from ci.cli.routed import EmulatedEnginesOption, EngineOption, build_routed, engine_groups
from ci.cli.running import Said, run, write_summary, write_timings
from ci.core.catalog import IMAGE_NAMES
from ci.core.inputs import PLATFORMS, SURICATA
from ci.core.platforms import Platform, default_platforms
from ci.core.say import to_stderr
from ci.core.summary import RunSummary, tarball_facts
from ci.core.timings import StageTimes, image_tarball_name
from ci.engine.record import EngineRecord
from ci.engine.session import engine_connection
from ci.images.builder import ImageBuilder
from ci.images.local_build import LocalBuild


@build_inputs()
def build(
    inputs: dict[str, Any],
    platforms: Annotated[list[str] | None, option(PLATFORMS)] = None,
    output: Annotated[Path, typer.Option(help="Directory for the OCI tarballs.")] = Path("out"),
    suricata: Annotated[bool, option(SURICATA)] = SURICATA.default,
    load: Annotated[
        bool,
        typer.Option(
            "--load",
            help="Then load agent, controller and flow-aggregator into the local Docker "
            "daemon as antrea/<name>:latest (one platform only).",
        ),
    ] = False,
    engine: EngineOption = None,
    emulated_engines: EmulatedEnginesOption = False,
    timings: TimingsOption = None,
    summary: SummaryOption = None,
) -> None:
    """Build every image for each platform, concurrently, into OCI tarballs."""
    chosen = platform_values(platforms)
    if engine:
        if load:
            raise typer.BadParameter("--load builds on one engine", param_hint="--engine")
        groups = engine_groups(chosen or default_platforms(), engine)
        run(
            lambda: build_routed(
                groups, emulated_engines, inputs, output, suricata, timings, summary
            )
        )
        return
    targets: list[Platform | None] = list(chosen) if chosen else [None]
    if load and len(targets) > 1:
        raise typer.BadParameter(
            "--load takes one platform: Docker keeps one platform per image name",
            param_hint="--platform",
        )
    times = StageTimes("build")
    record = EngineRecord()
    said = Said()

    async def main() -> None:
        async with engine_connection(record):
            builder = ImageBuilder(to_build_inputs(inputs), said)
            await LocalBuild(builder, output, times, suricata, load, said).run(targets)

    run(main)
    times.engine = record.as_dict()
    print(times.table())
    print(f"OCI tarballs in {output}")
    to_stderr(record.summary())
    write_timings(times, timings)
    built = list(dict.fromkeys(r.platform for r in times.records))
    report = RunSummary(f"antrea-ci build {', '.join(built)}", times)
    report.images = [
        tarball_facts(image, platform, output / image_tarball_name(image, platform))
        for platform in built
        for image in IMAGE_NAMES.values()
    ]
    report.notes = ["versions: " + "; ".join(times.versions), record.summary(), *said.notes()]
    write_summary(report, summary)
