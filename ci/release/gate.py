"""The release gate on the engine: each platform's images run their binaries in that
platform (natively or emulated) and their ELF headers are read, and a slice of the unit
tests runs there when asked, before any tag is written."""

from __future__ import annotations

import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import dagger
from dagger import dag

from ci.core.errors import first_line
from ci.core.gate import (
    GateResult,
    RunCheck,
    elf_failure,
    parse_od_bytes,
    refusal,
    run_checks,
    run_failure,
    summary,
    unit_tests_failure,
)
from ci.core.platforms import Platform
from ci.core.say import Say
from ci.images.agent import AGENT_COMMANDS
from ci.images.builder import Images
from ci.images.controller import CONTROLLER_COMMANDS
from ci.images.flow_aggregator import FLOW_AGGREGATOR, FLOW_AGGREGATOR_COMMANDS
from ci.testing.unit_tests import UnitTestFailure, UnitTests

# Runs the gate's unit-test slice in one platform.
TestSlice = Callable[[Platform], Awaitable[UnitTests]]

HEADERS_DIR = "/gate"
# What the openvswitch-switch package installs, in the agent image.
OVS_VSWITCHD = "/usr/sbin/ovs-vswitchd"


def _installed(name: str) -> str:
    """Where a released image holds a command: /flow-aggregator, else /usr/local/bin/NAME
    (as ci/images/ lays them)."""
    return f"/{name}" if name == FLOW_AGGREGATOR else f"/usr/local/bin/{name}"


# Every binary of each released image, whose ELF header the gate reads.
BINARIES: dict[str, tuple[str, ...]] = {
    "agent": (*map(_installed, AGENT_COMMANDS), OVS_VSWITCHD),
    "controller": tuple(map(_installed, CONTROLLER_COMMANDS)),
    "flow_aggregator": tuple(map(_installed, FLOW_AGGREGATOR_COMMANDS)),
}


@dataclass(frozen=True)
class ReleaseGate:
    """Runs the gate's checks on built images; the tool image (the Go image, on the
    engine's platform) reads the binaries' headers."""

    tool_image: str
    antrea_version: str
    ovs_version: str  # "" when the OVS tarball's version was not pinned
    say: Say

    async def check(
        self, built: dict[Platform, Images], tests: tuple[str, TestSlice] | None = None
    ) -> None:
        """Every check of every platform, concurrently, and the unit-test slice (its
        pattern, and what runs it) in each platform when given; GateFailure naming each
        failed one (platform, image, check) when any failed."""
        results: list[GateResult] = []
        started = time.monotonic()
        seconds: dict[Platform, float] = {}

        def done(target: Platform, *found: GateResult) -> None:
            results.extend(found)
            seconds[target] = time.monotonic() - started

        async def run(target: Platform, images: Images, check: RunCheck) -> None:
            done(target, await self._run(target, images, check))

        async def headers(target: Platform, image: str, container: dagger.Container) -> None:
            done(target, *await self._headers(target, image, container))

        async def unit_tests(target: Platform, pattern: str, slice_run: TestSlice) -> None:
            done(target, await self._tests(target, pattern, slice_run))

        async with anyio.create_task_group() as group:
            for target, images in built.items():
                for check in run_checks(target, self.antrea_version, self.ovs_version):
                    group.start_soon(run, target, images, check)
                for image in BINARIES:
                    group.start_soon(headers, target, image, getattr(images, image))
                if tests is not None:
                    group.start_soon(unit_tests, target, *tests)
        for line in summary(results, seconds):
            self.say(line)
        failure = refusal(sorted(results, key=lambda r: (r.platform, r.image, r.check)))
        if failure:
            raise failure

    @staticmethod
    async def _run(target: Platform, images: Images, check: RunCheck) -> GateResult:
        container: dagger.Container = getattr(images, check.image)
        ran = container.with_exec(list(check.command), expect=dagger.ReturnType.ANY)
        try:
            failure = run_failure(
                check, await ran.exit_code(), await ran.stdout(), await ran.stderr()
            )
        except dagger.QueryError as error:
            failure = f"cannot run: {first_line(str(error))}"
        return GateResult(target, check.image, check.name, failure)

    async def _tests(self, target: Platform, pattern: str, run: TestSlice) -> GateResult:
        """The unit tests of the pattern in the target (in the Go image)."""
        check = f"go test {pattern}"
        try:
            outcome = await run(target)
            failure = unit_tests_failure(outcome.passed, outcome.failures())
        except (UnitTestFailure, dagger.QueryError) as error:
            failure = first_line(str(error))
        return GateResult(target, self.tool_image, check, failure)

    async def _headers(
        self, target: Platform, image: str, container: dagger.Container
    ) -> list[GateResult]:
        """The first 20 bytes of each binary of the image, read on the engine's platform
        (`od` in the tool image), checked against the target's ELF machine."""
        paths = BINARIES[image]
        reader = dag.container().from_(self.tool_image)
        for number, path in enumerate(paths):
            reader = reader.with_mounted_file(f"{HEADERS_DIR}/{number}", container.file(path))
        script = "; ".join(
            f"od -An -v -tx1 -N20 {HEADERS_DIR}/{number} | tr -d '\\n'; echo"
            for number in range(len(paths))
        )
        try:
            lines = (await reader.with_exec(["sh", "-ec", script]).stdout()).splitlines()
        except dagger.QueryError as error:
            reason = f"cannot read the binaries: {first_line(str(error))}"
            return [GateResult(target, image, f"ELF headers of {shlex.join(paths)}", reason)]
        return [
            GateResult(target, image, f"ELF header of {path}", elf_failure(target, header))
            for path, header in zip(paths, map(parse_od_bytes, lines), strict=True)
        ]
