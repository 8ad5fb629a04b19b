"""The `go test` command line of the unit-test pipeline, without an engine."""

from __future__ import annotations

import pytest

from ci.core.platforms import Platform, parse_platform
from ci.testing.containers import (
    COVERAGE_FILE,
    DEFAULT_PACKAGES,
    RaceDetectorUnavailable,
    go_test_command,
    race_decision,
)

AMD64, ARM64, ARM = (parse_platform(p) for p in ("linux/amd64", "linux/arm64", "linux/arm/v7"))


def test_race_where_go_has_it_and_the_platform_is_native() -> None:
    assert race_decision(AMD64, native=True) == (True, "")
    assert race_decision(ARM64, native=True) == (True, "")
    on, note = race_decision(ARM, native=True)
    assert not on and note == "race detector off: Go has no race detector for linux/arm/v7"


def test_no_race_under_emulation() -> None:
    on, note = race_decision(ARM64, native=False)
    assert not on and "emulated linux/arm64" in note and "ThreadSanitizer" in note
    assert race_decision(AMD64, native=True, requested="off")[0] is False
    assert race_decision(ARM64, native=False, requested="off")[0] is False
    with pytest.raises(ValueError, match="auto, on or off"):
        race_decision(AMD64, native=True, requested="maybe")


@pytest.mark.parametrize(
    ("platform", "native", "reason"),
    [
        (ARM64, False, "emulated linux/arm64 cannot run the race detector"),
        (ARM, True, "Go has no race detector for linux/arm/v7"),
    ],
)
def test_race_on_is_refused_where_it_cannot_run(
    platform: Platform, native: bool, reason: str
) -> None:
    with pytest.raises(RaceDetectorUnavailable, match=f"^--race on: {reason}"):
        race_decision(platform, native=native, requested="on")
    assert race_decision(AMD64, native=True, requested="on") == (True, "")


def test_command_line() -> None:
    command = go_test_command(DEFAULT_PACKAGES, race=True)
    assert command[:4] == ["go", "test", "-json", "-race"]
    assert command[-len(DEFAULT_PACKAGES) :] == DEFAULT_PACKAGES
    assert "-race" not in go_test_command(DEFAULT_PACKAGES, race=False)


def test_filter_flags_and_coverage() -> None:
    command = go_test_command(
        ["./pkg/..."], race=True, run="TestX", extra_flags=["-count=1"], coverage=True
    )
    assert command == [
        "go",
        "test",
        "-json",
        "-race",
        "-run",
        "TestX",
        f"-coverprofile={COVERAGE_FILE}",
        "-covermode=atomic",
        "-count=1",
        "./pkg/...",
    ]


def test_default_packages_are_upstreams() -> None:
    assert DEFAULT_PACKAGES == [
        "./cmd/...",
        "./pkg/...",
        "./multicluster/cmd/...",
        "./multicluster/controllers/...",
    ]
