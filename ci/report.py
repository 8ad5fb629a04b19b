"""Stage timings and their table (pure, no engine)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StageTimes:
    """Seconds spent in each stage, per platform, in the order stages finished."""

    seconds: dict[str, dict[str, float]] = field(default_factory=dict)

    def record(self, platform: str, stage: str, seconds: float) -> None:
        self.seconds.setdefault(platform, {})[stage] = seconds

    def table(self) -> str:
        """A plain-text table: one row per stage, one column per platform, and totals."""
        platforms = list(self.seconds)
        stages: list[str] = []
        for per_stage in self.seconds.values():
            stages += [stage for stage in per_stage if stage not in stages]
        rows = [["stage", *platforms]]
        for stage in stages:
            rows.append([stage, *(_seconds(self.seconds[p].get(stage)) for p in platforms)])
        rows.append(["total", *(_seconds(sum(self.seconds[p].values())) for p in platforms)])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def tarball_name(image: str, platform: str) -> str:
    """The OCI tarball file of one image and platform, e.g. antrea-agent-linux-arm-v7.tar."""
    return f"{image}-{platform.replace('/', '-')}.tar"
