"""Shared fixtures: the offline test bed's engine and registries, required, never skipped."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator

import dagger
import pytest

from tests.testbed import OfflineTestBed, require_testbed


@pytest.fixture(scope="session")
def testbed() -> OfflineTestBed:
    """The offline test bed; a test that needs it fails when it is not up."""
    return require_testbed()


@pytest.fixture(scope="session")
async def engine(testbed: OfflineTestBed) -> AsyncIterator[OfflineTestBed]:
    """An open connection to the test bed's engine; `dagger.dag` is usable inside."""
    log = sys.stderr if os.environ.get("ANTREA_CI_ENGINE_LOGS") else None
    async with dagger.connection(dagger.Config(log_output=log)):
        yield testbed
