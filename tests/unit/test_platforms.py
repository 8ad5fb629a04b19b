"""Platform parsing and configuration, without an engine."""

from __future__ import annotations

import pytest

from ci.core.platforms import (
    Platform,
    PlatformError,
    binfmt_handlers,
    configured_platforms,
    load_platforms,
    parse_platform,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/arm64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("arm64", "linux/arm64"),
        ("aarch64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/v7", "linux/arm/v7"),
        (" Linux/AMD64 ", "linux/amd64"),
        ("linux/riscv64", "linux/riscv64"),
    ],
)
def test_platform_strings_normalise(text: str, expected: str) -> None:
    assert str(parse_platform(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "linux", "windows/amd64", "linux/mips", "linux/arm/v6", "linux//"]
)
def test_unknown_platforms_are_refused_with_the_known_ones(text: str) -> None:
    with pytest.raises(PlatformError) as refused:
        parse_platform(text)
    assert repr(text) in str(refused.value)
    assert "linux/arm/v7" in str(refused.value)


def test_go_environment_is_numeric_goarm_for_arm() -> None:
    assert parse_platform("linux/arm/v7").go_env == {"GOOS": "linux", "GOARCH": "arm", "GOARM": "7"}
    assert parse_platform("linux/arm64").go_env == {"GOOS": "linux", "GOARCH": "arm64"}


def test_race_detector_only_where_go_has_it() -> None:
    assert parse_platform("linux/amd64").facts.race
    assert parse_platform("linux/arm64").facts.race
    assert not parse_platform("linux/arm/v7").facts.race


def test_slug_is_safe_for_cache_keys() -> None:
    assert parse_platform("linux/arm/v7").slug == "linux-arm-v7"


def test_configured_platforms_are_the_three_antrea_ships() -> None:
    assert [str(p.platform) for p in configured_platforms()] == [
        "linux/amd64",
        "linux/arm64",
        "linux/arm/v7",
    ]


def test_adding_riscv64_is_one_line() -> None:
    lines = ["platforms = [", '{ name = "linux/amd64", runner = "x86" },', "]"]
    with_riscv = [*lines[:2], '{ name = "linux/riscv64", runner = "x86" },', lines[2]]
    configured = load_platforms("\n".join(with_riscv))
    assert configured[-1].platform == Platform("linux", "riscv64")
    assert configured[-1].platform.go_env["GOARCH"] == "riscv64"


def test_configuration_refuses_unknown_or_repeated_platforms() -> None:
    with pytest.raises(PlatformError):
        load_platforms('platforms = [{ name = "linux/sparc", runner = "x" }]')
    with pytest.raises(PlatformError):
        load_platforms(
            'platforms = [{ name = "linux/arm64", runner = "x" }, { name = "arm64", runner = "y" }]'
        )
    with pytest.raises(PlatformError):
        load_platforms("platforms = []")


def test_binfmt_handlers_are_those_of_the_platforms_the_host_cannot_run() -> None:
    targets = [parse_platform(p) for p in ("linux/amd64", "linux/arm64", "linux/arm/v7")]
    amd64, arm64 = targets[0], targets[1]
    assert binfmt_handlers(targets, amd64) == ["qemu-aarch64", "qemu-arm"]
    # arm/v7 runs natively (AArch32) on an Arm64 host, as on GitHub's Arm64 runners.
    assert binfmt_handlers(targets, arm64) == ["qemu-x86_64"]
    riscv64 = parse_platform("linux/riscv64")
    assert binfmt_handlers([riscv64, riscv64], amd64) == ["qemu-riscv64"]
