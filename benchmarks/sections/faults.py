"""8. Each release flow under each mix of faults, seeds 1..RUNS (tests/support/fault_campaign)."""

from __future__ import annotations

import sys

from benchmarks.common import Bench
from ci.engine.session import engine_connection
from tests.support.fault_campaign import FLOWS, MIXES, Campaign, CampaignRun, summary
from tests.support.inputs import fixture_antrea


async def measure(bench: Bench, runs: int) -> str:
    """Every run's line and the totals, as Markdown."""
    done: list[CampaignRun] = []
    async with engine_connection():
        for flow in FLOWS:
            reference: dict[str, str] = {}
            for mix in MIXES:
                campaign = Campaign(
                    bench.testbed.registry,
                    lambda: fixture_antrea(bench.testbed, bench.tree, bench.tarball),
                    ["linux/amd64", "linux/arm64"],
                    mix,
                )
                reference = reference or await campaign.reference(flow)
                for seed in range(1, runs + 1):
                    done.append(await campaign.run(flow, seed, reference))
                    print(done[-1].line(), file=sys.stderr, flush=True)
    return "\n".join(
        [
            *(f"Faults, {mix} (seeded): {faults}" for mix, faults in MIXES.items()),
            "",
            *(f"- {run.line()}" for run in done),
            "",
            *(f"**{mix}: {summary([r for r in done if r.mix == mix])}**" for mix in MIXES),
            "",
            f"**in all: {summary(done)}**",
        ]
    )
