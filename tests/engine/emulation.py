#!/usr/bin/env python3
"""The test bed's emulation steps for tests/engine/up (needs this project's Python packages).

    emulation.py handlers      the binfmt handlers (qemu-ARCH) that the configured platforms
                               the host does not run natively need, one per line
    emulation.py prove IMAGE   `uname -m` (a bare name, looked up in PATH) in IMAGE on every
                               configured platform, through the engine the environment names

prove prints one line per platform that failed and exits 0 when all ran, 3 when an engine
emulates with its own emulator (a restart after registering binfmt fixes it), 1 otherwise.
"""

from __future__ import annotations

import platform
import sys

import anyio

from ci.core.platforms import binfmt_handlers, default_platforms, parse_platform
from ci.doctor.probes import engine_probe_checks
from ci.doctor.verdicts import OWN_EMULATOR, Status

PROVE_SECONDS = 300
OWN_EMULATOR_EXIT = 3


def handlers() -> int:
    for handler in binfmt_handlers(default_platforms(), parse_platform(platform.machine())):
        print(handler)
    return 0


def prove(image: str) -> int:
    results = anyio.run(engine_probe_checks, default_platforms(), image, PROVE_SECONDS)
    failed = [result for result in results if result.status is Status.FAIL]
    for result in failed:
        print(f"{result.name}: {result.detail}; fix: {result.fix}")
    if not failed:
        return 0
    return OWN_EMULATOR_EXIT if all(OWN_EMULATOR in r.detail for r in failed) else 1


def main(arguments: list[str]) -> int:
    match arguments:
        case ["handlers"]:
            return handlers()
        case ["prove", image]:
            return prove(image)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
