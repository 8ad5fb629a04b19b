"""The connection to the Dagger engine that antrea-ci's fronts open (client mode)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import dagger

LOGS_VARIABLE = "ANTREA_CI_ENGINE_LOGS"


def engine_connection() -> contextlib.AbstractAsyncContextManager[Any]:
    """A connection to the engine; its logs go to stderr when ANTREA_CI_ENGINE_LOGS is set."""
    verbose = bool(os.environ.get(LOGS_VARIABLE))
    return dagger.connection(dagger.Config(log_output=sys.stderr if verbose else None))
