"""The `go test` command line of the unit-test pipeline, without an engine."""

from __future__ import annotations

from ci.images.unit_tests import COVERAGE_FILE, DEFAULT_PACKAGES, go_test_command
from ci.platforms import parse_platform


def test_race_on_amd64_and_arm64_only() -> None:
    for name, race in (("linux/amd64", True), ("linux/arm64", True), ("linux/arm/v7", False)):
        command = go_test_command(parse_platform(name), DEFAULT_PACKAGES)
        assert ("-race" in command) is race
        assert command[:3] == ["go", "test", "-json"]
        assert command[-len(DEFAULT_PACKAGES) :] == DEFAULT_PACKAGES


def test_filter_flags_and_coverage() -> None:
    command = go_test_command(
        parse_platform("linux/amd64"),
        ["./pkg/..."],
        run="TestX",
        extra_flags=["-count=1"],
        coverage=True,
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
