"""Shared fixtures: the offline test bed's engine and registries, required, never skipped."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import dagger
import pytest

TESTBED_VARIABLES = (
    "_EXPERIMENTAL_DAGGER_CLI_BIN",
    "_EXPERIMENTAL_DAGGER_RUNNER_HOST",
    "ANTREA_CI_REGISTRY",
    "ANTREA_CI_AUTH_REGISTRY",
    "ANTREA_CI_AUTH_REGISTRY_USER",
    "ANTREA_CI_AUTH_REGISTRY_PASSWORD",
    "ANTREA_CI_DISTRO_IMAGE",
    "ANTREA_CI_GO_IMAGE",
)


@dataclass(frozen=True)
class TestBed:
    """What tests/engine/up announced: registries and seed images."""

    registry: str
    auth_registry: str
    auth_user: str
    auth_password: str
    distro_image: str
    go_image: str


@pytest.fixture(scope="session")
def testbed() -> TestBed:
    """The offline test bed; a test that needs it fails when it is not up."""
    missing = [name for name in TESTBED_VARIABLES if not os.environ.get(name)]
    if missing:
        pytest.fail(
            "the offline test bed is not up (missing " + ", ".join(missing) + "): "
            'run `eval "$(tests/engine/up)"` first',
            pytrace=False,
        )
    env = os.environ
    return TestBed(
        registry=env["ANTREA_CI_REGISTRY"],
        auth_registry=env["ANTREA_CI_AUTH_REGISTRY"],
        auth_user=env["ANTREA_CI_AUTH_REGISTRY_USER"],
        auth_password=env["ANTREA_CI_AUTH_REGISTRY_PASSWORD"],
        distro_image=env["ANTREA_CI_DISTRO_IMAGE"],
        go_image=env["ANTREA_CI_GO_IMAGE"],
    )


@pytest.fixture(scope="session")
async def engine(testbed: TestBed) -> AsyncIterator[TestBed]:
    """An open connection to the test bed's engine; `dagger.dag` is usable inside."""
    log = sys.stderr if os.environ.get("ANTREA_CI_ENGINE_LOGS") else None
    async with dagger.connection(dagger.Config(log_output=log)):
        yield testbed
