"""What `antrea-ci doctor` concludes from what it observed (pure: no engine, no I/O).

Each check ends in a result: ok, warn (a run may work, with a caveat) or fail (a run will
not work), with a detail and, unless ok, how to fix it. ci/doctor/probes.py makes the observations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from ci.core.engines import RUNNER_VARIABLE, EngineFacts
from ci.core.platforms import Platform, runs_natively
from ci.release.registry import LOOPBACK, base_url

CLI_VARIABLE = "_EXPERIMENTAL_DAGGER_CLI_BIN"
ENGINE = "engine"
DAGGER_CLI = "dagger CLI"
DOCKER = "docker"
MIN_FREE_GB = 20
# Runner hosts whose engine runs in Docker (no runner host: the CLI starts one in Docker).
DOCKER_RUNNER_SCHEMES = (
    "docker-container",
    "docker-image",
    "container+docker",
    "image+docker",
    "image",
)
EMULATION_FIX = (
    "give the engine QEMU emulators: on its host `docker run --privileged --rm "
    "tonistiigi/binfmt --install all` (online) or Debian's qemu-user-static and "
    "binfmt-support; an engine image of one's own must ship the static buildkit-qemu-* "
    "emulators"
)
UNREACHABLE_REGISTRY_FIX = (
    "check the host name, DNS, the network and proxy settings (HTTPS_PROXY, NO_PROXY), "
    "and that the registry serves HTTPS"
)
OFFLINE_TEST_BED = 'the offline test bed: eval "$(tests/engine/up)"'
OWN_EMULATOR = "the engine emulates it with its own emulator"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check; fix says what to do when it is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CheckResult:
        fields = json.loads(text)
        return cls(fields["name"], Status(fields["status"]), fields["detail"], fields["fix"])


def verdict_table(results: Sequence[CheckResult]) -> str:
    """One line per check (status, name, detail), each warning or failure followed by its fix."""
    width = max((len(result.name) for result in results), default=0)
    lines: list[str] = []
    for result in results:
        lines.append(f"{result.status:<4}  {result.name:<{width}}  {result.detail}")
        if result.status is not Status.OK:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {result.fix}")
    return "\n".join(lines)


def exit_code(results: Sequence[CheckResult]) -> int:
    """1 when a check failed, else 0 (warnings allowed)."""
    return 1 if any(result.status is Status.FAIL for result in results) else 0


def same_version(found: str, pinned: str) -> bool:
    """Whether two versions are the same, with or without their leading v."""
    return found.removeprefix("v") == pinned.removeprefix("v")


def cli_version(output: str) -> str:
    """The version in `dagger version`'s output (`dagger v0.21.8 (...)` gives 0.21.8), or ""."""
    match = re.search(r"\bdagger v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)", output)
    return match.group(1) if match else ""


def install_cli_fix(pinned: str) -> str:
    return (
        f"install Dagger CLI v{pinned}: curl -fsSL https://dl.dagger.io/dagger/install.sh | "
        f"DAGGER_VERSION={pinned} BIN_DIR=/usr/local/bin sh (or point {CLI_VARIABLE} at one)"
    )


def dagger_cli_result(path: str, output: str, pinned: str, sdk_uses_it: bool) -> CheckResult:
    """The CLI at path printed output for `dagger version`: it should be the pinned version.

    Another version fails when the SDK (so antrea-ci) uses it (_EXPERIMENTAL_DAGGER_CLI_BIN); a
    `dagger` merely on PATH serves `dagger call` only (the SDK downloads its own), so warns.
    """
    version = cli_version(output)
    status = Status.FAIL if sdk_uses_it else Status.WARN
    if not version:
        detail = f"`{path} version` printed no version: {output.strip()[:100]!r}"
        return CheckResult(DAGGER_CLI, status, detail, install_cli_fix(pinned))
    if not same_version(version, pinned):
        user = "antrea-ci and `dagger call`" if sdk_uses_it else "`dagger call`"
        detail = f"v{version} at {path} (used by {user}), but build/versions.env pins {pinned}"
        return CheckResult(DAGGER_CLI, status, detail, install_cli_fix(pinned))
    return CheckResult(DAGGER_CLI, Status.OK, f"v{version} at {path}")


def broken_cli_result(path: str, reason: str, pinned: str) -> CheckResult:
    """`dagger version` could not run."""
    detail = f"`{path} version` failed: {reason}"
    return CheckResult(DAGGER_CLI, Status.FAIL, detail, install_cli_fix(pinned))


def missing_cli_result(pinned: str) -> CheckResult:
    """No CLI on PATH: `dagger call` needs one; the SDK would download its own (online)."""
    detail = (
        f"no dagger on PATH and {CLI_VARIABLE} unset: `dagger call` needs it, and antrea-ci "
        "downloads one on first use (online only)"
    )
    return CheckResult(DAGGER_CLI, Status.WARN, detail, install_cli_fix(pinned))


def docker_needed(runner_host: str) -> bool:
    """Whether the engine runs in Docker: no runner host, or a Docker container or image one."""
    scheme, separator, _ = runner_host.partition("://")
    return not runner_host or (bool(separator) and scheme in DOCKER_RUNNER_SCHEMES)


def docker_not_needed(runner_host: str) -> CheckResult:
    return CheckResult(DOCKER, Status.OK, f"not needed: the engine is at {runner_host}")


def docker_result(server_version: str, root_dir: str) -> CheckResult:
    return CheckResult(DOCKER, Status.OK, f"server {server_version}, data in {root_dir}")


def docker_failed(reason: str) -> CheckResult:
    """`docker info` could not reach a daemon, or there is no docker command."""
    fix = (
        "install Docker (Debian: apt-get install docker.io), start its daemon "
        "(systemctl start docker) and let this user reach it (the docker group, or DOCKER_HOST)"
    )
    return CheckResult(DOCKER, Status.FAIL, f"docker info failed: {reason}", fix)


def engine_result(version: str, platform: str, pinned: str) -> CheckResult:
    """The engine answered: its version should be the pinned one."""
    detail = f"{version} on {platform}"
    if same_version(version, pinned):
        return CheckResult(ENGINE, Status.OK, detail)
    fix = (
        f"run engine v{pinned}: unset {RUNNER_VARIABLE} to let the CLI start "
        f"registry.dagger.io/engine:v{pinned}, or point it at an engine of that version"
    )
    return CheckResult(ENGINE, Status.WARN, f"{detail}, but antrea-ci pins {pinned}", fix)


def engine_facts(result: CheckResult, runner_host: str) -> EngineFacts:
    """What an engine check found: the version and platform engine_result wrote into its
    detail, or why there was no connection."""
    if result.status is Status.FAIL:
        return EngineFacts(runner_host, unreachable=result.detail.removeprefix("no connection: "))
    version, _, platform = result.detail.split(",")[0].partition(" on ")
    return EngineFacts(runner_host, version, platform)


def routed_engine_result(
    facts: EngineFacts, platforms: Sequence[Platform], refusal: str
) -> CheckResult:
    """An engine an --engine names: fails with the refusal (engine_refusal) when there is one."""
    name = f"engine {facts.runner_host}"
    routed = ", ".join(map(str, platforms))
    if refusal:
        detail, _, fix = refusal.partition("; ")
        return CheckResult(name, Status.FAIL, detail.partition(": ")[2], fix)
    return CheckResult(name, Status.OK, f"{facts.version} on {facts.platform}, takes {routed}")


def engine_unreachable(reason: str, runner_host: str) -> CheckResult:
    """No connection to the engine; the fix depends on where the engine should be."""
    scheme, _, where = runner_host.partition("://")
    if not runner_host or scheme in ("image", "docker-image"):
        fix = (
            "make Docker run (see the docker check) and able to run the engine image, "
            f"or point {RUNNER_VARIABLE} at a running engine"
        )
    elif scheme == "docker-container":
        fix = f"start the engine container {where} (`docker start {where}`; {OFFLINE_TEST_BED})"
    else:
        fix = f"start the engine at {runner_host}, or point {RUNNER_VARIABLE} at a running one"
    return CheckResult(ENGINE, Status.FAIL, f"no connection: {reason}", fix)


def engine_without_cli(reason: str, pinned: str) -> CheckResult:
    """No session: the SDK found no CLI to start one with (none to run, none to download)."""
    return CheckResult(ENGINE, Status.FAIL, f"no connection: {reason}", install_cli_fix(pinned))


def platform_check_name(platform: Platform) -> str:
    return f"platform {platform}"


def mode(platform: Platform, engine_platform: Platform) -> str:
    """native or emulated: how the engine runs the platform's binaries."""
    return "native" if runs_natively(platform, engine_platform) else "emulated"


def emulation_result(platform: Platform, engine_platform: Platform, machine: str) -> CheckResult:
    """`uname -m` printed machine in a container of platform: it must be the platform's."""
    name = platform_check_name(platform)
    how = mode(platform, engine_platform)
    expected = platform.facts.uname
    if machine == expected:
        return CheckResult(name, Status.OK, f"{how}: uname -m printed {machine}")
    detail = f"{how}: uname -m printed {machine!r}, expected {expected}"
    fix = f"check that the probe image's {platform} variant holds {platform} binaries; else "
    return CheckResult(name, Status.FAIL, detail, fix + EMULATION_FIX)


def emulation_failed(platform: Platform, engine_platform: Platform, reason: str) -> CheckResult:
    """`uname -m` did not run in a container of platform."""
    how = mode(platform, engine_platform)
    fix = EMULATION_FIX if how == "emulated" else "read the engine's logs (docker logs ENGINE)"
    detail = f"{how}: uname -m failed: {reason}"
    return CheckResult(platform_check_name(platform), Status.FAIL, detail, fix)


def own_emulator_result(platform: Platform, reason: str) -> CheckResult:
    """`uname -m` failed but `/bin/uname -m` ran: the engine uses its own emulator.

    An engine decides at start which platforms the kernel runs (binfmt handlers); for the
    others it runs its own QEMU, which, unless it is BuildKit's patched one, cannot find a
    program named without its path.
    """
    emulator = f"qemu-{platform.facts.qemu}"
    detail = (
        f"emulated: {OWN_EMULATOR}, which runs /bin/uname but not `uname` ({reason}): the "
        "engine started before the host's binfmt handler for "
        f"{platform} was registered"
    )
    fix = (
        f"register binfmt for {platform} (update-binfmts --enable {emulator}, or "
        "docker/setup-qemu-action), then restart the engine (docker restart ENGINE; "
        f"{OFFLINE_TEST_BED} does both)"
    )
    return CheckResult(platform_check_name(platform), Status.FAIL, detail, fix)


def probe_image_failed(platform: Platform, image: str, reason: str) -> CheckResult:
    """The probe image could not be had for platform: nothing was run."""
    fix = (
        f"pass --probe-image (or set ANTREA_CI_DISTRO_IMAGE) naming an image with a "
        f"{platform} variant that the engine can pull"
    )
    detail = f"cannot use {image}: {reason}"
    return CheckResult(platform_check_name(platform), Status.FAIL, detail, fix)


def complete_engine_results(
    platforms: Sequence[Platform],
    answers: Mapping[str, CheckResult],
    reason: str,
    runner_host: str,
) -> list[CheckResult]:
    """The engine check, then one per platform, in order; a check not answered fails."""
    engine = answers.get(ENGINE) or engine_unreachable(reason, runner_host)
    results = [engine]
    for platform in platforms:
        name = platform_check_name(platform)
        if name in answers:
            results.append(answers[name])
        elif engine.status is Status.FAIL:
            fix = "make the engine check pass first"
            results.append(CheckResult(name, Status.FAIL, "not checked: no engine", fix))
        else:
            results.append(CheckResult(name, Status.FAIL, f"no answer: {reason}", EMULATION_FIX))
    return results


def registry_url(registry: str) -> str:
    """The registry API's root, which answers 200 or 401 when the registry is reachable."""
    return f"{base_url(registry)}/v2/"


def registry_result(registry: str, status_code: int | None, reason: str = "") -> CheckResult:
    """GET of the registry's API root answered status_code, or failed for reason (None)."""
    name = f"registry {registry}"
    url = registry_url(registry)
    if status_code in (200, 401):
        return CheckResult(name, Status.OK, f"{url} answered {status_code}")
    if status_code is None:
        fix = (
            f"start the registry on {registry} ({OFFLINE_TEST_BED})"
            if LOOPBACK.match(registry)
            else UNREACHABLE_REGISTRY_FIX
        )
        return CheckResult(name, Status.FAIL, f"cannot reach {url}: {reason}", fix)
    detail = f"{url} answered {status_code}, not 200 or 401"
    return CheckResult(name, Status.FAIL, detail, "check that HOST[:PORT] is a registry's")


def disk_result(
    place: str, path: str, free_bytes: int, minimum_gb: int = MIN_FREE_GB
) -> CheckResult:
    """Free space at path (place says what lives there): at least minimum_gb GB."""
    free_gb = free_bytes / 10**9
    name = f"disk: {place}"
    detail = f"{free_gb:.1f} GB free at {path}"
    if free_gb >= minimum_gb:
        return CheckResult(name, Status.OK, detail)
    fix = f"free space under {path}: `docker image prune`, `dagger core engine local-cache prune`"
    return CheckResult(name, Status.WARN, f"{detail}, less than {minimum_gb} GB", fix)
