"""The Markdown a run leaves for people to read at a glance: GitHub's job summary
($GITHUB_STEP_SUMMARY) or a file (pure, no engine).

A build: its stages per platform (time, cache, emulated or native), its images (digest and
compressed size), the engine's record and the Go cache's; a test run: the outcome and each
failed test with the first lines of its output; a baseline comparison with the regressions
marked; a publication: the index written per image and tag, and the tags left as they were.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ci.core.baseline import StageChange
from ci.core.oci_tarball import blob, member
from ci.core.timings import RAN, StageTimes

# Lines of a failed test's output shown under its name.
OUTPUT_LINES = 6
# Runs a trend chart shows, newest last.
TREND_RUNS = 20


def table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A Markdown table; the columns named by index in `right` aligned to the right."""
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(_cell(cell) for cell in line) + " |" for line in lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


@dataclass(frozen=True)
class ImageFacts:
    """An image as an OCI tarball holds it: its manifest's digest and compressed size."""

    name: str
    platform: str
    digest: str
    compressed: int


def tarball_facts(name: str, platform: str, tarball: Path) -> ImageFacts:
    """The digest and compressed size (config and layers) of the one image of a tarball."""
    with tarfile.open(tarball) as archive:
        index = json.load(member(archive, "index.json"))
        descriptor = index["manifests"][0]
        manifest = json.load(member(archive, blob(descriptor["digest"])))
    size = int(manifest["config"]["size"]) + sum(int(layer["size"]) for layer in manifest["layers"])
    return ImageFacts(name, platform, str(descriptor["digest"]), size)


def stages_table(times: StageTimes) -> str:
    """One row per stage, one column per platform: time, and how it was had."""
    platforms = list(dict.fromkeys(r.platform for r in times.records))
    stages = list(dict.fromkeys(r.stage for r in times.records))
    cells = {(r.platform, r.stage): r for r in times.records}
    rows = []
    for stage in stages:
        row = [stage]
        for platform in platforms:
            record = cells.get((platform, stage))
            how = "" if record is None or record.cache == RAN else f" ({record.cache})"
            row.append("-" if record is None else _seconds(record.seconds) + how)
        rows.append(row)
    totals = [
        times.elapsed.get(p, sum(r.seconds for r in times.records if r.platform == p))
        for p in platforms
    ]
    rows.append(["**total**", *(f"**{_seconds(total)}**" for total in totals)])
    emulated = {r.platform: r.emulated for r in times.records}
    header = ["stage", *(f"{p} ({'emulated' if emulated[p] else 'native'})" for p in platforms)]
    return table(header, rows, right=range(1, len(header)))


@dataclass
class RunSummary:
    """What one command's summary says, filled as the run goes."""

    title: str
    times: StageTimes | None = None
    images: list[ImageFacts] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"## {self.title}"]
        if self.times and self.times.records:
            parts.append(stages_table(self.times))
        if self.images:
            parts.append(
                table(
                    ["image", "platform", "digest", "compressed"],
                    (
                        [f"`{i.name}`", i.platform, f"`{i.digest}`", _mib(i.compressed)]
                        for i in self.images
                    ),
                    right=[3],
                )
            )
        parts += self.sections
        if self.notes:
            parts.append("\n".join(f"- {note}" for note in self.notes))
        return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class FailedTest:
    """A failed test and the first lines of what it printed."""

    name: str
    output: list[str]


def unit_tests_section(
    platform: str,
    passed: int,
    failed: int,
    skipped: int,
    how: str,
    failures: Sequence[FailedTest],
    cached_packages: int = 0,
) -> str:
    """The unit tests' outcome, each failed test with the first lines of its output."""
    verdict = f"**{failed} failed**" if failed else "**passed**"
    lines = [
        f"{verdict} on {platform} ({how}): {passed} passed, {failed} failed, {skipped} skipped"
        + (f"; {cached_packages} packages' results from Go's test cache" if cached_packages else "")
    ]
    for failure in failures:
        shown = [line.rstrip() for line in failure.output if line.strip()][:OUTPUT_LINES]
        lines.append(f"\n<details><summary><code>{failure.name}</code></summary>\n")
        lines.append("```\n" + "\n".join(shown) + "\n```\n</details>")
    return "\n".join(lines)


def comparison_section(changes: Sequence[StageChange], max_slowdown: float) -> str:
    """The baseline comparison, each regression marked."""
    rows = []
    for change in changes:
        percent = change.percent
        note = change.note
        rows.append(
            [
                change.platform,
                change.stage,
                "-" if change.old is None else _seconds(change.old.seconds),
                "-" if change.new is None else _seconds(change.new.seconds),
                "-" if percent is None else f"{percent:+.0f}%",
                "**slower** :red_circle:" if change.slower else note,
            ]
        )
    slower = sum(change.slower for change in changes)
    verdict = (
        f"**{slower} stages more than {max_slowdown:g}% slower than the baseline**"
        if slower
        else f"No stage more than {max_slowdown:g}% slower than the baseline."
    )
    header = ["platform", "stage", "baseline", "this run", "change", ""]
    return verdict + "\n\n" + table(header, rows, right=[2, 3, 4])


def release_section(references: Sequence[str], unchanged: Sequence[str]) -> str:
    """The tags a publication wrote (reference@digest each) and those it left alone."""
    rows = []
    for reference in references:
        name, _, digest = reference.partition("@")
        repository, _, tag = name.rpartition(":")
        left = f"{name} already is {digest}" in " ".join(unchanged)
        rows.append(
            [f"`{repository}`", f"`{tag}`", f"`{digest}`", "unchanged" if left else "pushed"]
        )
    return table(["repository", "tag", "digest", ""], rows)


@dataclass(frozen=True)
class TrendRun:
    """One recorded run: when it finished and each (platform, stage)'s seconds."""

    finished: datetime
    seconds: dict[tuple[str, str], float]


def load_trend(paths: Iterable[Path]) -> list[TrendRun]:
    """The timings files of one command, oldest first (unreadable files left out)."""
    runs = []
    for path in paths:
        try:
            document = json.loads(path.read_text())
            finished = datetime.fromisoformat(document["finished"])
            seconds = {
                (str(stage["platform"]), str(stage["stage"])): float(stage["seconds"])
                for stage in document["stages"]
            }
        except (OSError, ValueError, KeyError, TypeError):
            continue
        runs.append(TrendRun(finished, seconds))
    return sorted(runs, key=lambda run: run.finished)


# Colours of the chart's lines, in order (Mermaid's xychart has no legend: the text says).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
COLOUR_NAMES = ("blue", "orange", "green", "red", "purple", "brown", "pink")


def trend_chart(
    runs: Sequence[TrendRun], platform: str, stages: Sequence[str], measured: str = "stage"
) -> str:
    """A Mermaid line chart of the stages' seconds over the runs for one platform, with the
    key to its colours; "" when fewer than two runs have the platform. A stage some of the
    runs lack is not drawn (a line has no gaps) and the key names it. `measured` names what a
    line is in the title ("seconds per stage")."""
    shown = [run for run in runs if any(key[0] == platform for key in run.seconds)]
    shown = shown[-TREND_RUNS:]
    named = [s for s in stages if any((platform, s) in run.seconds for run in shown)]
    stages = [s for s in named if all((platform, s) in run.seconds for run in shown)]
    partial = [s for s in named if s not in stages]
    stages = stages[: len(PALETTE)]
    if len(shown) < 2 or not stages:
        return ""
    # Minutes name the runs unless two share one (runs of one job): then seconds too.
    minutes = [f"{run.finished:%m-%d %H:%M}" for run in shown]
    if len(set(minutes)) < len(minutes):
        minutes = [f"{run.finished:%m-%d %H:%M:%S}" for run in shown]
    labels = ", ".join(f'"{label}"' for label in minutes)
    top = max(run.seconds.get((platform, stage), 0.0) for run in shown for stage in stages)
    lines = [
        "```mermaid",
        "---",
        "config:",
        "  themeVariables:",
        "    xyChart:",
        f'      plotColorPalette: "{", ".join(PALETTE[: len(stages)])}"',
        "---",
        "xychart-beta",
        f'    title "{platform}: seconds per {measured}"',
        f"    x-axis [{labels}]",
        f'    y-axis "seconds" 0 --> {max(1.0, top * 1.1):.0f}',
    ]
    for stage in stages:
        values = ", ".join(f"{run.seconds[(platform, stage)]:.1f}" for run in shown)
        lines.append(f"    line [{values}]")
    lines.append("```")
    key = ", ".join(f"{COLOUR_NAMES[i]}: {stage}" for i, stage in enumerate(stages))
    missing = f" Not in every run, not drawn: {', '.join(partial)}." if partial else ""
    return "\n".join(lines) + f"\n\nLines: {key}.{missing}"


def append(path: Path, markdown: str) -> None:
    """Add the Markdown to the summary file (GitHub's is shared by the job's steps), after
    a blank line when the file holds some already: a table before it must end there."""
    earlier = path.exists() and path.stat().st_size > 0
    with path.open("a") as summary:
        summary.write(("\n" if earlier else "") + markdown)
