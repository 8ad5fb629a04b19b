"""The offline test bed as tests see it: what tests/engine/up announced."""

from __future__ import annotations

import os
from dataclasses import dataclass

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
class OfflineTestBed:
    """What tests/engine/up announced: registries and seed images."""

    registry: str
    auth_registry: str
    auth_user: str
    auth_password: str
    distro_image: str
    go_image: str


def require_testbed() -> OfflineTestBed:
    """The offline test bed; a test that needs it fails when it is not up."""
    missing = [name for name in TESTBED_VARIABLES if not os.environ.get(name)]
    if missing:
        pytest.fail(
            "the offline test bed is not up (missing " + ", ".join(missing) + "): "
            'run `eval "$(tests/engine/up)"` first',
            pytrace=False,
        )
    env = os.environ
    return OfflineTestBed(
        registry=env["ANTREA_CI_REGISTRY"],
        auth_registry=env["ANTREA_CI_AUTH_REGISTRY"],
        auth_user=env["ANTREA_CI_AUTH_REGISTRY_USER"],
        auth_password=env["ANTREA_CI_AUTH_REGISTRY_PASSWORD"],
        distro_image=env["ANTREA_CI_DISTRO_IMAGE"],
        go_image=env["ANTREA_CI_GO_IMAGE"],
    )
