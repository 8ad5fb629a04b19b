"""RESULTS.md's key figures over its runs, drawn: `python -m benchmarks.key_figures [--write]`.

Reads the tables the benchmark wrote into RESULTS.md (sections whose heading is a
`python -m benchmarks.run ... --write` command and whose source is a real Antrea tree, not
the fixture), follows each key figure over those runs and draws them as the job summary's
trend chart (ci.core.summary.trend_chart: Mermaid, drawn by Mermaid's CLI in Chromium). With
--write, benchmarks/key-figures.png, which RESULTS.md shows.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ci.core.summary import TrendRun, trend_chart

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
IMAGE = HERE / "key-figures.png"
PLATFORM = "linux/arm64"

# Each key figure and the names the benchmark gave it over time (sections were renamed).
KEY_FIGURES: dict[str, tuple[str, ...]] = {
    "cold": (
        "build linux/arm64, cold",
        "(a) build linux/arm64, new runner, no Go cache (cold)",
    ),
    "cold, base images pulled": ("build linux/arm64, cold but base images from the registry",),
    "new runner, Go cache restored, one Go file changed": (
        "(c) build linux/arm64, new runner, Go cache restored, one Go file changed",
    ),
    "warm, one Go file changed": (
        "build linux/arm64, warm, one Go file changed",
        "(d) build linux/arm64, warm engine, one Go file changed",
    ),
}

HEADING = re.compile(r"^## (\d{4}-\d\d-\d\d \d\d:\d\d) UTC: `python -m benchmarks\.run .*--write`")
ROW = re.compile(r"^\| (.+?) \| ([\d.]+) s \| [\d., ]+ \|$")


def recorded_runs(text: str) -> list[TrendRun]:
    """The written real-tree sections of RESULTS.md that hold a key figure, oldest first;
    each key figure's seconds under (PLATFORM, its key name)."""
    names = {name: key for key, aliases in KEY_FIGURES.items() for name in aliases}
    runs: list[TrendRun] = []
    finished: datetime | None = None
    real_tree = False
    seconds: dict[tuple[str, str], float] = {}

    def close() -> None:
        if finished is not None and real_tree and seconds:
            runs.append(TrendRun(finished, dict(seconds)))

    for line in text.splitlines():
        if line.startswith("## "):
            close()
            heading = HEADING.match(line)
            finished = datetime.fromisoformat(heading.group(1)) if heading else None
            real_tree, seconds = False, {}
        elif line.startswith("On ") and "; source: " in line:
            real_tree = "fixture" not in line.split("; source: ", 1)[1].split(";")[0]
        elif (row := ROW.match(line)) and row.group(1) in names:
            seconds[(PLATFORM, names[row.group(1)])] = float(row.group(2))
    close()
    return sorted(runs, key=lambda run: run.finished)


def chart(text: str) -> str:
    """The Mermaid chart of the key figures over RESULTS.md's runs."""
    return trend_chart(recorded_runs(text), PLATFORM, list(KEY_FIGURES), measured="key figure")


def main(
    write: Annotated[bool, typer.Option(help="Draw benchmarks/key-figures.png.")] = False,
) -> None:
    """Print the chart; with --write, draw it."""
    drawn = chart(RESULTS.read_text())
    if not drawn:
        raise SystemExit("RESULTS.md holds fewer than two real-tree runs with key figures")
    print(drawn)
    if write:
        from tests.support.rendering import MERMAID_BLOCK, mermaid_png

        block = MERMAID_BLOCK.search(drawn)
        assert block is not None
        mermaid_png(block.group(1), IMAGE, width=1100)
        print(f"drawn: {IMAGE}")


if __name__ == "__main__":
    typer.run(main)
