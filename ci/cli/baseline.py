"""`antrea-ci baseline compare` and `trend`: stage timings of runs side by side, and over
time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ci.cli.options import SummaryOption
from ci.cli.running import write_summary
from ci.core.baseline import BaselineError, compare, comparison_table, load_timings
from ci.core.summary import RunSummary, comparison_section, load_trend, trend_chart

baseline_app = typer.Typer(help="Build-time baselines: compare runs, chart their trend.")


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
    summary: SummaryOption = None,
) -> None:
    """Print both runs' stages side by side; exit 1 when a stage got too much slower."""
    try:
        changes = compare(load_timings(old), load_timings(new), max_slowdown, min_seconds)
    except BaselineError as error:
        raise typer.BadParameter(str(error)) from None
    print(comparison_table(changes))
    report = RunSummary(f"build times against the baseline ({old.name})")
    report.sections.append(comparison_section(changes, max_slowdown))
    write_summary(report, summary)
    slower = [f"{c.platform} {c.stage}" for c in changes if c.slower]
    if slower:
        print(f"slower than the baseline by more than {max_slowdown:g}%: " + ", ".join(slower))
        raise typer.Exit(1)


@baseline_app.command("trend")
def baseline_trend(
    runs: Annotated[list[Path], typer.Argument(help="Timings files of one command (JSON).")],
    stage: Annotated[
        list[str] | None,
        typer.Option("--stage", help="A stage to draw; repeat for several (default: all)."),
    ] = None,
    summary: SummaryOption = None,
) -> None:
    """Print a Mermaid chart of each platform's stage times over the runs, oldest first."""
    trend = load_trend(runs)
    platforms = list(dict.fromkeys(key[0] for run in trend for key in run.seconds))
    stages = stage or list(dict.fromkeys(key[1] for run in trend for key in run.seconds))
    charts = [chart for p in platforms if (chart := trend_chart(trend, p, stages))]
    if not charts:
        raise typer.BadParameter(
            f"{len(trend)} readable runs: a trend needs two runs of a platform", param_hint="RUNS"
        )
    print("\n\n".join(charts))
    report = RunSummary(f"build times over the last {len(trend)} runs")
    report.sections += charts
    write_summary(report, summary)
