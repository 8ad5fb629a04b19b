"""`dagger check`'s checks: one of Antrea's unit tests per configured platform."""

from __future__ import annotations

from typing import Any

from ci.core.platforms import default_platforms, parse_platform
from ci.main import Antrea
from ci.testing.checks import UnitTestChecks, check_name


def _functions(cls: type) -> dict[str, Any]:
    """The functions the Python SDK registered for an object type, by Python name."""
    registered: dict[str, Any] = cls.__dagger_object_type__.functions
    return {function.original_name: function for function in registered.values()}


def test_each_configured_platform_has_a_unit_test_check() -> None:
    functions = _functions(UnitTestChecks)
    expected = {check_name(platform) for platform in default_platforms()}
    assert expected == {"linux_amd64", "linux_arm64", "linux_arm_v7"}
    assert set(functions) == expected
    for name in expected:
        assert functions[name].check, name
        assert "unit tests on linux/" in (functions[name].doc or ""), name


def test_check_names_follow_the_matrix_slug() -> None:
    assert check_name(parse_platform("linux/arm/v7")) == "linux_arm_v7"
    assert check_name(parse_platform("linux/riscv64")) == "linux_riscv64"


def test_the_main_object_offers_the_checks() -> None:
    functions = _functions(Antrea)
    assert not functions["unit_tests"].check
    assert functions["repository"].check
    assert not functions["test"].check
