"""`python -m tests.support.own_engine COMMAND [ARG...]`: COMMAND run against an engine of
its own beside the test bed's (testbed.RESTARTED, started by tests/engine/up with its own
state volume and network): this environment (the test bed's, as up announced it), with the
runner host up announced for that engine; exits with COMMAND's status. CI runs the tests
that restart or kill the engine this way, beside the others, which keep the test bed's
engine and its cache."""

from __future__ import annotations

import os
import subprocess
import sys

from ci.core.engines import RUNNER_VARIABLE
from tests.support.testbed import RESTARTED, up_exports


def main(command: list[str]) -> int:
    if not command:
        print("usage: python -m tests.support.own_engine COMMAND [ARG...]", file=sys.stderr)
        return 2
    started = RESTARTED.up()
    sys.stderr.write(started.stderr)
    if started.returncode != 0:
        print(f"error: the engine {RESTARTED.name} did not start", file=sys.stderr)
        return 1
    runner_host = up_exports(started.stdout)[RUNNER_VARIABLE]
    env = {**os.environ, RUNNER_VARIABLE: runner_host}
    return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
