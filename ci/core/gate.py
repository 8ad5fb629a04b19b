"""The release gate: what each platform's images must do on that platform before anything
is published, and how its outcome reads (pure, no engine).

Each released image runs its own binaries in its platform (natively, or emulated): every
command must exit 0 and print the Antrea version (and the Go runtime's os/arch, which a
binary reports from what it was compiled for), ovs-vswitchd the OVS version built; and every
binary's ELF header must name the platform's machine. When asked, a slice of the unit tests
(a package pattern) must also pass on each platform.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ci.core.catalog import IMAGE_NAMES
from ci.core.platforms import Platform

# ELF e_machine numbers (the System V ABI's registry) and word sizes of each Go GOARCH.
ELF_MACHINES: dict[str, tuple[int, int, str]] = {
    "amd64": (62, 64, "x86-64"),
    "arm64": (183, 64, "AArch64"),
    "arm": (40, 32, "ARM"),
    "riscv64": (243, 64, "RISC-V"),
}
ELF_MAGIC = b"\x7fELF"


# The characters of a Go package pattern (./relative/path or an import path, ... wildcards).
_TEST_PATTERN = re.compile(r"[A-Za-z0-9_.~/-]+")


class GateFailure(RuntimeError):
    """A platform's images did not pass the gate: nothing was published."""


class GateTestsError(ValueError):
    """--gate-tests is not a Go package pattern."""


def check_test_pattern(pattern: str) -> str:
    """The pattern, if `go test` would read it as packages of the tree (not a flag, no
    spaces, nothing above the tree)."""
    outside = ".." in pattern.split("/")
    if pattern.startswith("-") or outside or not _TEST_PATTERN.fullmatch(pattern):
        raise GateTestsError(
            f"not a Go package pattern: {pattern!r} (give one, e.g. ./pkg/util/...)"
        )
    return pattern


@dataclass(frozen=True)
class RunCheck:
    """A command run in a released image, and what its output must hold."""

    image: str  # a field of Images: agent, controller, flow_aggregator
    command: tuple[str, ...]
    expected: tuple[str, ...]

    @property
    def name(self) -> str:
        return " ".join(self.command)


@dataclass(frozen=True)
class GateResult:
    """One check of one image of one platform: passed, or why not."""

    platform: Platform
    image: str
    check: str
    failure: str = ""  # "" when it passed

    @property
    def passed(self) -> bool:
        return not self.failure

    def line(self) -> str:
        image = IMAGE_NAMES.get(self.image, self.image)
        return f"{self.platform} {image}: {self.check}: {self.failure}"


def run_checks(platform: Platform, antrea_version: str, ovs_version: str) -> list[RunCheck]:
    """The commands each released image runs in the platform; ovs_version "" checks only
    that ovs-vswitchd runs and names Open vSwitch (a tarball of another version allowed)."""
    runtime = f"{platform.os}/{platform.facts.goarch}"
    ovs = f"(Open vSwitch) {ovs_version}" if ovs_version else "(Open vSwitch)"
    return [
        RunCheck("agent", ("antrea-agent", "--version"), (antrea_version, runtime)),
        RunCheck("agent", ("antctl", "version", "--client"), (antrea_version,)),
        RunCheck("agent", ("ovs-vswitchd", "--version"), (ovs,)),
        RunCheck("controller", ("antrea-controller", "--version"), (antrea_version, runtime)),
        RunCheck("flow_aggregator", ("/flow-aggregator", "--version"), (antrea_version, runtime)),
    ]


def run_failure(check: RunCheck, exit_code: int, stdout: str, stderr: str) -> str:
    """Why a command's run fails its check ("" when it passes)."""
    said = " ".join((stdout + " " + stderr).split())[:300]
    if exit_code != 0:
        return f"exit code {exit_code}: {said or 'no output'}"
    missing = [text for text in check.expected if text not in stdout + stderr]
    if missing:
        wanted = ", ".join(repr(text) for text in missing)
        return f"its output lacks {wanted}: {said or 'no output'}"
    return ""


def unit_tests_failure(passed: int, failures: list[str]) -> str:
    """Why a unit-test slice fails the gate ("" when some tests ran and none failed)."""
    if failures:
        shown = ", ".join(failures[:5]) + (f" and {len(failures) - 5} more" if failures[5:] else "")
        return f"{len(failures)} failed: {shown}"
    if passed == 0:
        return "no test ran: the pattern matches no package with tests"
    return ""


def parse_od_bytes(text: str) -> bytes:
    """The bytes `od -An -v -tx1` printed as hexadecimal pairs."""
    return bytes(int(pair, 16) for pair in text.split())


def elf_failure(platform: Platform, header: bytes) -> str:
    """Why a file's first 20 bytes are not an ELF executable of the platform ("" when they
    are)."""
    if header[:4] != ELF_MAGIC or len(header) < 20:
        return "not an ELF file"
    machine, bits, name = ELF_MACHINES[platform.facts.goarch]
    found_bits = {1: 32, 2: 64}.get(header[4], 0)
    found_machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    if (found_machine, found_bits) != (machine, bits):
        known = {(m, b): n for m, b, n in ELF_MACHINES.values()}
        found = known.get((found_machine, found_bits), f"machine {found_machine}")
        return f"built for {found} ({found_bits}-bit), not {name} ({bits}-bit)"
    return ""


def refusal(results: list[GateResult]) -> GateFailure | None:
    """The error naming every failed check, or None when all passed."""
    failed = [result.line() for result in results if not result.passed]
    if not failed:
        return None
    return GateFailure("nothing was published: the release gate failed for " + "; ".join(failed))


def summary(results: list[GateResult], seconds: Mapping[Platform, float]) -> list[str]:
    """One line per platform: how many checks its images passed, and in how many seconds
    (from the gate's start to the platform's last check)."""
    lines = []
    for platform in sorted({result.platform for result in results}):
        mine = [result for result in results if result.platform == platform]
        passed = sum(result.passed for result in mine)
        took = seconds[platform]
        lines.append(f"gate: {platform}: {passed}/{len(mine)} checks passed in {took:.1f} s")
    return lines
