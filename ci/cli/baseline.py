"""`antrea-ci baseline compare`: the stage timings of two runs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ci.core.baseline import BaselineError, compare, comparison_table, load_timings

baseline_app = typer.Typer(help="Build-time baselines: compare the timings of two runs.")


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
