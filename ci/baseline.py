"""Comparing the stage timings of two runs against a tolerance (pure, no engine)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ci.report import StageRecord, render_table


class BaselineError(ValueError):
    """A timings file that cannot be read as one antrea-ci wrote."""


@dataclass(frozen=True)
class StageChange:
    """One stage of the baseline and of the new run, side by side."""

    platform: str
    stage: str
    old: float | None
    new: float | None
    slower: bool

    @property
    def percent(self) -> float | None:
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / self.old * 100


def load_timings(path: Path) -> dict[tuple[str, str], StageRecord]:
    """The stages of a timings file, by (platform, stage)."""
    try:
        document = json.loads(path.read_text())
        records = [StageRecord(**stage) for stage in document["stages"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BaselineError(f"{path} is not an antrea-ci timings file: {error}") from None
    return {(record.platform, record.stage): record for record in records}


def compare(
    old: dict[tuple[str, str], StageRecord],
    new: dict[tuple[str, str], StageRecord],
    max_slowdown: float,
    min_seconds: float,
) -> list[StageChange]:
    """Every stage of either run; slower when it took more than max_slowdown percent and
    min_seconds longer than in the baseline (so noise on short stages does not count)."""
    changes = []
    for key in [*old, *(key for key in new if key not in old)]:
        before = old[key].seconds if key in old else None
        after = new[key].seconds if key in new else None
        slower = (
            before is not None
            and after is not None
            and after - before > min_seconds
            and after > before * (1 + max_slowdown / 100)
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
                "-" if change.old is None else f"{change.old:.1f}s",
                "-" if change.new is None else f"{change.new:.1f}s",
                "-" if percent is None else f"{percent:+.0f}%",
                "SLOWER" if change.slower else "",
            ]
        )
    return render_table(rows, left=2)
