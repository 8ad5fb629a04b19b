"""The CI matrix, from the one place platforms are configured (pure, no engine)."""

from __future__ import annotations

import re

from ci.core.platforms import ConfiguredPlatform, Platform

NATIVE_ARCHITECTURES = {"ubuntu-24.04": {"amd64"}, "ubuntu-24.04-arm": {"arm64", "arm/v7"}}


def native_runner(platform: Platform, runners: list[str]) -> bool:
    """Whether a platform runs natively on one of the runners (arm/v7 on Arm64: AArch32)."""
    return any(platform.key in NATIVE_ARCHITECTURES.get(runner, set()) for runner in runners)


def unit_test_check(platform: Platform) -> str:
    """`dagger check`'s name for the platform's unit tests (ci/testing/checks.py): its slug, with
    the dash Dagger's CLI puts wherever letters and digits meet (unit-tests:linux-arm-v-7)."""
    return "unit-tests:" + re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", "-", platform.slug)


def ci_matrix(
    configured: tuple[ConfiguredPlatform, ...], fallback_runner: str | None = None
) -> dict[str, list[dict[str, str | bool]]]:
    """GitHub Actions matrix entries, one per platform.

    With a fallback runner (the hosted Arm64 runner is unavailable), every job runs there
    and platforms foreign to it are emulated.
    """
    include: list[dict[str, str | bool]] = []
    for entry in configured:
        runner = fallback_runner or entry.runner
        include.append(
            {
                "platform": str(entry.platform),
                "runner": runner,
                "slug": entry.platform.slug,
                "check": unit_test_check(entry.platform),
                "tag_suffix": entry.platform.facts.tag_suffix,
                "emulated": not native_runner(entry.platform, [runner]),
            }
        )
    return {"include": include}
