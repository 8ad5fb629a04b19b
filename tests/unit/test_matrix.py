"""The CI matrix comes from build/platforms.toml, with an emulated fallback."""

from __future__ import annotations

from ci.core.matrix import ci_matrix, unit_test_check
from ci.core.platforms import configured_platforms, load_platforms


def test_matrix_puts_arm_on_the_arm64_runner_natively() -> None:
    entries = ci_matrix(configured_platforms())["include"]
    assert [(e["platform"], e["runner"], e["emulated"]) for e in entries] == [
        ("linux/amd64", "ubuntu-24.04", False),
        ("linux/arm64", "ubuntu-24.04-arm", False),
        ("linux/arm/v7", "ubuntu-24.04-arm", False),
    ]
    assert [e["tag_suffix"] for e in entries] == ["amd64", "arm64", "arm"]


def test_fallback_runs_everything_on_x86_with_emulation() -> None:
    entries = ci_matrix(configured_platforms(), fallback_runner="ubuntu-24.04")["include"]
    assert {e["runner"] for e in entries} == {"ubuntu-24.04"}
    assert [e["emulated"] for e in entries] == [False, True, True]


def test_a_riscv64_line_reaches_the_matrix() -> None:
    text = "\n".join(
        [
            "platforms = [",
            '  { name = "linux/amd64", runner = "ubuntu-24.04" },',
            '  { name = "linux/riscv64", runner = "ubuntu-24.04" },',
            "]",
        ]
    )
    entries = ci_matrix(load_platforms(text))["include"]
    assert entries[-1] == {
        "platform": "linux/riscv64",
        "runner": "ubuntu-24.04",
        "slug": "linux-riscv64",
        "check": "unit-tests:linux-riscv-64",
        "tag_suffix": "riscv64",
        "emulated": True,
    }


def test_unit_test_checks_are_named_as_the_dagger_cli_shows_them() -> None:
    names = [unit_test_check(entry.platform) for entry in configured_platforms()]
    assert names == [
        "unit-tests:linux-amd-64",
        "unit-tests:linux-arm-64",
        "unit-tests:linux-arm-v-7",
    ]
