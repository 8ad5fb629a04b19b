"""Stage timings: the table printed after a run and the JSON record baselines compare (pure)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

# Dagger 0.21's SDK does not say whether a call was served from the cache: a stage that
# finished faster than this was most likely served from it ("likely-hit", not a fact).
LIKELY_HIT_SECONDS = 2.0
PULLED = "registry"
LIKELY_HIT = "likely-hit"
RAN = "ran"


@dataclass(frozen=True)
class StageRecord:
    """One finished stage: how long it took, where, and whether it was cached."""

    platform: str
    stage: str
    seconds: float
    emulated: bool
    cache: str  # "registry" (pulled from the base registry), "likely-hit" or "ran"


def cache_state(seconds: float, pulled: bool = False) -> str:
    if pulled:
        return PULLED
    return LIKELY_HIT if seconds < LIKELY_HIT_SECONDS else RAN


@dataclass
class StageTimes:
    """The stages of one run, in the order recorded (a build's images in build order)."""

    command: str = ""
    records: list[StageRecord] = field(default_factory=list)
    # The versions the run used, each with its origin (`ovs 3.7.1 (build/images/deps/...)`).
    versions: list[str] = field(default_factory=list)
    # Wall seconds by platform, where stages overlap.
    elapsed: dict[str, float] = field(default_factory=dict)
    # What the engine said of the run's commands (ci.engine.record): ran, cached, failed.
    engine: dict[str, int] = field(default_factory=dict)

    def record(
        self,
        platform: str,
        stage: str,
        seconds: float,
        emulated: bool = False,
        pulled: bool = False,
    ) -> StageRecord:
        """Record a finished stage; returns its record."""
        entry = self.measure(platform, stage, seconds, emulated, pulled)
        self.records.append(entry)
        return entry

    @staticmethod
    def measure(
        platform: str, stage: str, seconds: float, emulated: bool = False, pulled: bool = False
    ) -> StageRecord:
        """A stage's record, not recorded yet (a build records its images in build order)."""
        return StageRecord(platform, stage, seconds, emulated, cache_state(seconds, pulled))

    def took(self, platform: str, seconds: float) -> None:
        """The platform's wall time, for runs whose stages overlap (a build's images)."""
        self.elapsed[platform] = seconds

    def table(self) -> str:
        """A plain-text table: one row per stage, one column per platform, and totals (the
        wall time where it was given, else the sum of the stages)."""
        platforms = list(dict.fromkeys(r.platform for r in self.records))
        stages = list(dict.fromkeys(r.stage for r in self.records))
        seconds = {(r.platform, r.stage): r.seconds for r in self.records}
        rows = [["stage", *platforms]]
        for stage in stages:
            rows.append([stage, *(_seconds(seconds.get((p, stage))) for p in platforms)])
        totals = [
            self.elapsed.get(p, sum(r.seconds for r in self.records if r.platform == p))
            for p in platforms
        ]
        rows.append(["total", *(_seconds(total) for total in totals)])
        return render_table(rows)

    def to_json(self, now: datetime | None = None) -> str:
        """The baseline record of this run."""
        document = {
            "command": self.command,
            "finished": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "stages": [asdict(record) for record in self.records],
            "versions": self.versions,
            **({"engine": self.engine} if self.engine else {}),
        }
        return json.dumps(document, indent=2) + "\n"


def render_table(rows: list[list[str]], left: int = 1) -> str:
    """Columns aligned (the first `left` ones to the left, the others to the right), a rule
    under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def progress_line(done: StageRecord) -> str:
    """A finished stage's progress line: `[linux/arm64] ovs done in 2.0s (emulated)`."""
    how = [*(["emulated"] if done.emulated else []), *([done.cache] if done.cache != RAN else [])]
    detail = f" ({', '.join(how)})" if how else ""
    return f"[{done.platform}] {done.stage} done in {done.seconds:.1f}s{detail}"


def image_tarball_name(image: str, platform: str) -> str:
    """The OCI tarball file of one image and platform, e.g. antrea-agent-linux-arm-v7.tar."""
    return f"{image}-{platform.replace('/', '-')}.tar"
