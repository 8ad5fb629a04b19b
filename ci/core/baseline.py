"""Comparing the stage timings of two runs against a tolerance (pure, no engine)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ci.core.timings import StageRecord, render_table


class BaselineError(ValueError):
    """A timings file that cannot be read as one antrea-ci wrote, or two that do not match."""


@dataclass(frozen=True)
class Timings:
    """The stages of one run, by (platform, stage)."""

    command: str
    stages: dict[tuple[str, str], StageRecord]


@dataclass(frozen=True)
class StageChange:
    """One stage of the baseline and of the new run, side by side."""

    platform: str
    stage: str
    old: StageRecord | None
    new: StageRecord | None
    slower: bool

    @property
    def percent(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        if self.old.seconds == 0:
            return math.inf if self.new.seconds > 0 else 0.0
        return (self.new.seconds - self.old.seconds) / self.old.seconds * 100

    @property
    def note(self) -> str:
        """Why the stage is not compared, or SLOWER."""
        if self.old is None:
            return "only in the new run"
        if self.new is None:
            return "only in the baseline"
        if self.old.emulated != self.new.emulated:
            return "not compared: emulated in one run only"
        if self.old.cache != self.new.cache:
            return f"not compared: cache {self.old.cache} then {self.new.cache}"
        return "SLOWER" if self.slower else ""


def load_timings(path: Path) -> Timings:
    """A timings file antrea-ci wrote (fields it does not know are ignored)."""
    try:
        document = json.loads(path.read_text())
        records = [
            StageRecord(
                platform=str(stage["platform"]),
                stage=str(stage["stage"]),
                seconds=float(stage["seconds"]),
                emulated=bool(stage["emulated"]),
                cache=str(stage["cache"]),
            )
            for stage in document["stages"]
        ]
        command = str(document["command"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BaselineError(f"{path} is not an antrea-ci timings file: {error!r}") from None
    return Timings(command, {(record.platform, record.stage): record for record in records})


def compare(
    old: Timings, new: Timings, max_slowdown: float, min_seconds: float
) -> list[StageChange]:
    """Every stage of either run. A stage is slower when, emulated and cached alike in both
    runs, it took more than max_slowdown percent and min_seconds longer than in the baseline
    (so noise on short stages does not count)."""
    if old.command != new.command:
        raise BaselineError(f"the runs are of different commands ({old.command} and {new.command})")
    changes = []
    for key in [*old.stages, *(key for key in new.stages if key not in old.stages)]:
        before, after = old.stages.get(key), new.stages.get(key)
        slower = (
            before is not None
            and after is not None
            and before.emulated == after.emulated
            and before.cache == after.cache
            and after.seconds - before.seconds > min_seconds
            and after.seconds > before.seconds * (1 + max_slowdown / 100)
        )
        changes.append(StageChange(key[0], key[1], before, after, slower))
    return changes


def comparison_table(changes: list[StageChange]) -> str:
    rows = [["platform", "stage", "baseline", "new", "change", ""]]
    for change in changes:
        percent = change.percent
        rows.append(
            [
                change.platform,
                change.stage,
                "-" if change.old is None else f"{change.old.seconds:.1f}s",
                "-" if change.new is None else f"{change.new.seconds:.1f}s",
                "-" if percent is None else f"{percent:+.0f}%",
                change.note,
            ]
        )
    return render_table(rows, left=2)
