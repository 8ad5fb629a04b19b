"""The release gate's checks and verdicts, without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci.core.gate import (
    GateResult,
    GateTestsError,
    check_test_pattern,
    elf_failure,
    parse_od_bytes,
    refusal,
    run_checks,
    run_failure,
    summary,
    unit_tests_failure,
)
from ci.core.platforms import parse_platform

AMD64 = parse_platform("linux/amd64")
ARM64 = parse_platform("linux/arm64")
ARM = parse_platform("linux/arm/v7")


def _header(bits: int, machine: int) -> bytes:
    """The first 20 bytes of a little-endian ELF executable."""
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1, 1]) + bytes(9)
    return ident + (2).to_bytes(2, "little") + machine.to_bytes(2, "little")


def test_this_hosts_own_binary_is_amd64_and_nothing_else() -> None:
    header = Path("/bin/sh").resolve().read_bytes()[:20]
    assert elf_failure(AMD64, header) == ""
    assert elf_failure(ARM64, header) == "built for x86-64 (64-bit), not AArch64 (64-bit)"


def test_each_platforms_machine_is_told_apart() -> None:
    assert elf_failure(ARM64, _header(64, 183)) == ""
    assert elf_failure(ARM, _header(32, 40)) == ""
    assert elf_failure(ARM, _header(64, 183)) == "built for AArch64 (64-bit), not ARM (32-bit)"
    assert (
        elf_failure(ARM64, _header(64, 99)) == "built for machine 99 (64-bit), not AArch64 (64-bit)"
    )
    assert elf_failure(AMD64, b"#!/bin/sh\necho hello\n") == "not an ELF file"
    assert elf_failure(AMD64, b"") == "not an ELF file"


def test_od_output_is_read_back_as_bytes() -> None:
    assert parse_od_bytes(" 7f 45 4c 46 02 01 01 00\n 00") == b"\x7fELF\x02\x01\x01\x00\x00"
    assert parse_od_bytes("") == b""


def test_every_released_image_runs_its_binaries_and_checks_their_platform() -> None:
    checks = run_checks(ARM, "v2.7.0-abc1234", "3.7.1")
    by_name = {check.name: check for check in checks}
    assert {check.image for check in checks} == {"agent", "controller", "flow_aggregator"}
    assert by_name["antrea-agent --version"].expected == ("v2.7.0-abc1234", "linux/arm")
    assert by_name["antctl version --client"].expected == ("v2.7.0-abc1234",)
    assert by_name["ovs-vswitchd --version"].expected == ("(Open vSwitch) 3.7.1",)
    assert by_name["/flow-aggregator --version"].image == "flow_aggregator"
    unpinned = {check.name: check for check in run_checks(ARM, "v2.7.0", "")}
    assert unpinned["ovs-vswitchd --version"].expected == ("(Open vSwitch)",)


def test_a_command_fails_its_check_on_exit_code_or_missing_output() -> None:
    check = run_checks(ARM64, "v2.7.0", "3.7.1")[0]
    upstream_like = "antrea-agent version v2.7.0 linux/arm64 go1.26.8\n"
    assert run_failure(check, 0, upstream_like, "") == ""
    assert run_failure(check, 2, "", "exec format error") == "exit code 2: exec format error"
    assert run_failure(check, 139, "", "") == "exit code 139: no output"
    assert run_failure(check, 0, "antrea-agent v2.7.0 linux/amd64\n", "") == (
        "its output lacks 'linux/arm64': antrea-agent v2.7.0 linux/amd64"
    )


def test_the_refusal_names_platform_image_and_check_of_each_failure() -> None:
    results = [
        GateResult(ARM64, "agent", "antrea-agent --version"),
        GateResult(ARM, "agent", "antrea-agent --version", "exit code 2: panic: broken"),
        GateResult(ARM, "controller", "ELF header of /usr/local/bin/antctl", "not an ELF file"),
    ]
    refused = refusal(results)
    assert refused is not None
    assert str(refused) == (
        "nothing was published: the release gate failed for "
        "linux/arm/v7 antrea-agent-ubuntu: antrea-agent --version: exit code 2: panic: broken; "
        "linux/arm/v7 antrea-controller-ubuntu: ELF header of /usr/local/bin/antctl: "
        "not an ELF file"
    )
    assert refusal(results[:1]) is None
    assert summary(results, {ARM: 12.34, ARM64: 3.05}) == [
        "gate: linux/arm/v7: 0/2 checks passed in 12.3 s",
        "gate: linux/arm64: 1/1 checks passed in 3.0 s",
    ]


def test_gate_tests_takes_package_patterns_of_the_tree_only() -> None:
    for pattern in ("./pkg/util/...", "./...", "./pkg/util/ip", "antrea.io/antrea/pkg/..."):
        assert check_test_pattern(pattern) == pattern
    for bad in ("", "-run=.", "./pkg util", "../other", "./pkg/../../x", "./pkg;rm"):
        with pytest.raises(GateTestsError, match="not a Go package pattern: "):
            check_test_pattern(bad)


def test_a_test_slice_fails_the_gate_on_a_failure_or_when_nothing_ran() -> None:
    assert unit_tests_failure(3, []) == ""
    assert unit_tests_failure(1, ["broken.TestPanics"]) == "1 failed: broken.TestPanics"
    seven = [f"p.Test{n}" for n in range(7)]
    assert unit_tests_failure(0, seven) == (
        "7 failed: p.Test0, p.Test1, p.Test2, p.Test3, p.Test4 and 2 more"
    )
    assert unit_tests_failure(0, []) == "no test ran: the pattern matches no package with tests"


def test_a_test_slice_is_named_by_the_go_image_it_ran_in() -> None:
    result = GateResult(ARM64, "golang:1.26", "go test ./pkg/util/...", "1 failed: p.TestX")
    assert result.line() == "linux/arm64 golang:1.26: go test ./pkg/util/...: 1 failed: p.TestX"
