"""What `dagger check` runs: Antrea's unit tests on each platform of build/platforms.toml
(`unit-tests:linux-arm-64`, ...), and this repository's own lint and engine-less tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import dagger
from dagger import Doc, check, dag, field, function, object_type

from ci.core.inputs import DISTRO_IMAGE, GO_IMAGE, SOURCE
from ci.core.platforms import Platform, configured_platforms
from ci.images.builder import ImageBuilder
from ci.images.inputs import BuildInputs
from ci.testing.unit_tests import TestSelection, UnitTestRunner, require_passed

# The Python of the engine-less tests: the oldest requires-python allows.
PYTHON_IMAGE = "python:3.11-slim"
# What the repository check runs, in a copy of this repository. Left out: the tests that
# run tools that image lacks, the host's Go or git (test_gotest, and those marked
# host_tools), the workflow linters (actionlint and shellcheck) and Mermaid and Chromium
# (test_summary_render), which tests/engine/tools installs.
REPOSITORY_CHECKS = [
    "pip install --quiet --root-user-action=ignore -e '.[test]'",
    "ruff check .",
    "ruff format --check .",
    "mypy",
    "python -m pytest -q -m 'not engine and not online and not host_tools'"
    " --ignore tests/unit/test_gotest.py"
    " --ignore tests/tooling/test_summary_render.py"
    " --deselect tests/unit/test_workflows.py::test_actionlint_and_shellcheck_pass",
]

# What of a clone the repository check does not read: git's data, virtualenvs, caches,
# build output, the SDK the module's runtime generates.
REPOSITORY_IGNORED = [
    ".git",
    ".venv",
    "**/__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "out",
    "timings",
    "*.egg-info",
    "sdk",
    "tests/fixtures/**/*.tar.gz",
]

Checks = TypeVar("Checks", bound=type)


def check_name(platform: Platform) -> str:
    """The Python name of a platform's check, `linux_arm_v7` (`dagger check` shows it as
    ci.core.matrix.unit_test_check says)."""
    return platform.slug.replace("-", "_")


def _platform_check(platform: Platform) -> Callable[[UnitTestChecks], Awaitable[None]]:
    async def unit_tests(self: UnitTestChecks) -> None:
        await self.run(platform)

    unit_tests.__name__ = unit_tests.__qualname__ = check_name(platform)
    unit_tests.__doc__ = (
        f"Antrea's Go unit tests on {platform}: fails naming the failed tests "
        "(emulated where the engine's platform is another)"
    )
    return unit_tests


def one_check_per_platform(cls: Checks) -> Checks:
    """Give the class a check for each platform of build/platforms.toml: a platform added
    there is checked too."""
    for entry in configured_platforms():
        setattr(cls, check_name(entry.platform), function(check(_platform_check(entry.platform))))
    return cls


@object_type
@one_check_per_platform
class UnitTestChecks:
    """Antrea's Go unit tests of the tree, one check per configured platform."""

    source: Annotated[dagger.Directory | None, Doc(SOURCE.help)] = field()
    distro_image: Annotated[str, Doc(DISTRO_IMAGE.help)] = field()
    go_image: Annotated[str, Doc(GO_IMAGE.help)] = field()

    async def run(self, platform: Platform) -> None:
        """The unit tests of the tree's default packages on the platform; UnitTestFailure
        naming the failed ones."""
        inputs = BuildInputs(
            source=self.source, distro_image=self.distro_image, go_image=self.go_image
        )
        outcome = await UnitTestRunner(ImageBuilder(inputs)).run(platform, TestSelection())
        require_passed(outcome)


async def check_repository(repository: dagger.Directory) -> None:
    """This repository's lint, types and engine-less tests, in a Python container."""
    await (
        dag.container()
        .from_(PYTHON_IMAGE)
        .with_directory("/antrea-ci", repository)
        .with_workdir("/antrea-ci")
        .with_exec(["sh", "-ec", " && ".join(REPOSITORY_CHECKS)])
        .sync()
    )
