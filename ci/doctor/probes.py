"""What `antrea-ci doctor` observes: the Dagger CLI, Docker, the engine, registries, disks.

The engine checks run in a child process (`python -m ci.doctor.probes IMAGE PLATFORM...`) that
prints one JSON line per check: the SDK starts its engine session in a blocking call that
cannot be cancelled, so an engine that never answers is given up on by killing that process
and the session CLI it started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import anyio
import dagger
import httpx
from anyio.abc import ByteReceiveStream, Process
from anyio.streams.buffered import BufferedByteReceiveStream
from dagger import dag

from ci.core.engines import (
    RUNNER_VARIABLE,
    EngineFacts,
    EngineGroup,
    engine_refusal,
    group_by_engine,
)
from ci.core.errors import first_line
from ci.core.inputs import DISTRO_IMAGE
from ci.core.platforms import Platform, parse_platform, runs_natively
from ci.core.versions import pins
from ci.doctor.verdicts import (
    CLI_VARIABLE,
    ENGINE,
    CheckResult,
    broken_cli_result,
    complete_engine_results,
    dagger_cli_result,
    disk_result,
    docker_failed,
    docker_needed,
    docker_not_needed,
    docker_result,
    emulation_failed,
    emulation_result,
    engine_facts,
    engine_result,
    engine_unreachable,
    engine_without_cli,
    missing_cli_result,
    own_emulator_result,
    probe_image_failed,
    registry_result,
    registry_url,
    routed_engine_result,
)
from ci.engine.routing import engine_environment
from ci.engine.session import engine_connection
from ci.release.registry import http_client

COMMAND_SECONDS = 30
REGISTRY_SECONDS = 10
ANSWER_BYTES = 1 << 20
# Set in each probe container so the engine runs `uname -m` again instead of reusing a
# result cached before, say, an emulator went missing.
RUN_VARIABLE = "ANTREA_CI_DOCTOR_RUN"


def runner_host_of_environment() -> str:
    return os.environ.get(RUNNER_VARIABLE, "")


async def _command(*command: str) -> tuple[int, str, str]:
    """Run a host command: exit code, stdout, stderr. Raises OSError and TimeoutError."""
    with anyio.fail_after(COMMAND_SECONDS):
        done = await anyio.run_process(command, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def dagger_cli_check(pinned: str) -> CheckResult:
    """The Dagger CLI the SDK would use (or `dagger` on PATH), and its version."""
    sdk_uses_it = bool(os.environ.get(CLI_VARIABLE))
    path = os.environ.get(CLI_VARIABLE) or shutil.which("dagger")
    if not path:
        return missing_cli_result(pinned)
    try:
        code, stdout, stderr = await _command(path, "version")
    except TimeoutError:
        return broken_cli_result(path, f"no answer within {COMMAND_SECONDS}s", pinned)
    except OSError as error:
        return broken_cli_result(path, error.strerror or str(error), pinned)
    if code != 0:
        return broken_cli_result(path, first_line(stderr, f"exit code {code}"), pinned)
    return dagger_cli_result(path, stdout, pinned, sdk_uses_it)


async def docker_check(host: str) -> tuple[CheckResult, str]:
    """Whether Docker answers when the engine runs in it; also Docker's data directory ("")."""
    if not docker_needed(host):
        return docker_not_needed(host), ""
    try:
        code, stdout, stderr = await _command(
            "docker", "info", "--format", "{{.ServerVersion}}\t{{.DockerRootDir}}"
        )
    except TimeoutError:
        return docker_failed(f"no answer within {COMMAND_SECONDS}s"), ""
    except OSError as error:
        return docker_failed(error.strerror or str(error)), ""
    server_version, _, root_dir = stdout.strip().partition("\t")
    if code != 0 or not root_dir:
        return docker_failed(first_line(stderr or stdout, f"exit code {code}")), ""
    return docker_result(server_version, root_dir), root_dir


def _exec_reason(error: dagger.DaggerError) -> str:
    """What went wrong in the engine: an exec's stderr, else the error's first line."""
    if isinstance(error, dagger.ExecError) and error.stderr.strip():
        return first_line(error.stderr)
    return first_line(str(error))


async def emulation_check(
    platform: Platform, engine_platform: Platform, probe_image: str, run: str
) -> CheckResult:
    """Run `uname -m` in probe_image for platform (needs an open connection)."""
    container = dag.container(platform=dagger.Platform(str(platform))).from_(probe_image)
    try:
        await container.sync()
    except dagger.DaggerError as error:
        return probe_image_failed(platform, probe_image, first_line(str(error)))
    probe = container.with_env_variable(RUN_VARIABLE, run)
    try:
        machine = await probe.with_exec(["uname", "-m"]).stdout()
    except dagger.DaggerError as error:
        reason = _exec_reason(error)
        if runs_natively(platform, engine_platform):
            return emulation_failed(platform, engine_platform, reason)
        # Only an emulator that cannot look a bare name up in PATH runs this one.
        try:
            await probe.with_exec(["/bin/uname", "-m"]).sync()
        except dagger.DaggerError:
            return emulation_failed(platform, engine_platform, reason)
        return own_emulator_result(platform, reason)
    return emulation_result(platform, engine_platform, machine.strip())


async def engine_checks(
    platforms: Sequence[Platform], probe_image: str, pinned: str
) -> AsyncIterator[CheckResult]:
    """The engine's version, then `uname -m` on each platform (needs an open connection)."""
    version = await dag.version()
    default_platform = str(await dag.default_platform())
    yield engine_result(version, default_platform, pinned)
    engine_platform = parse_platform(default_platform)
    run = uuid.uuid4().hex
    for platform in platforms:
        yield await emulation_check(platform, engine_platform, probe_image, run)


async def _end(process: Process, grace: float) -> None:
    """Let the process exit within grace seconds, else kill its process group."""
    with anyio.move_on_after(grace):
        await process.wait()
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _collect(
    stream: ByteReceiveStream, answers: dict[str, CheckResult], count: int, timeout: float
) -> tuple[str, bool]:
    """Read answers until count came: the reason when fewer did, and whether it was lateness."""
    lines = BufferedByteReceiveStream(stream)
    while len(answers) < count:
        with anyio.move_on_after(timeout) as waiting:
            try:
                line = await lines.receive_until(b"\n", ANSWER_BYTES)
            except (anyio.EndOfStream, anyio.IncompleteRead):
                return "the probe process ended early (its errors are above)", False
        if waiting.cancelled_caught:
            return f"no answer within {timeout:g}s", True
        try:
            answer = CheckResult.from_json(line.decode())
        except (ValueError, KeyError, TypeError):
            continue  # not an answer: something else the process printed
        answers.setdefault(answer.name, answer)
    return "", False


async def read_answers(
    command: Sequence[str], count: int, timeout: float, env: Mapping[str, str] | None = None
) -> tuple[dict[str, CheckResult], str]:
    """The check results (JSON lines, by name) command prints, each awaited timeout seconds.

    Returns them with the reason fewer than count came ("" when all did). The command runs
    in a process group of its own (in env, when given), killed at once when it is late.
    """
    answers: dict[str, CheckResult] = {}
    process = await anyio.open_process(
        command, stdin=subprocess.DEVNULL, stderr=None, start_new_session=True, env=env
    )
    async with process:
        late = True
        try:
            assert process.stdout is not None  # opened as a pipe
            reason, late = await _collect(process.stdout, answers, count, timeout)
        finally:
            await _end(process, 0 if late else timeout)
    return answers, reason


async def engine_probe_checks(
    platforms: Sequence[Platform], probe_image: str, timeout: float
) -> list[CheckResult]:
    """The engine checks, run by `python -m ci.doctor.probes` (see the module's docstring)."""
    command = [sys.executable, "-m", "ci.doctor.probes", probe_image, *map(str, platforms)]
    answers, reason = await read_answers(command, 1 + len(platforms), timeout)
    return complete_engine_results(platforms, answers, reason, runner_host_of_environment())


async def routed_engine_facts(runner_host: str, timeout: float) -> EngineFacts:
    """What the engine at runner_host says of itself: the engine check of
    `python -m ci.doctor.probes`, run pointed at it (no platform probed)."""
    command = [sys.executable, "-m", "ci.doctor.probes", DISTRO_IMAGE.default]
    answers, reason = await read_answers(command, 1, timeout, engine_environment(runner_host))
    answer = answers.get(ENGINE) or engine_unreachable(reason, runner_host)
    return engine_facts(answer, runner_host)


async def judged_engines(
    groups: Sequence[EngineGroup], timeout: float, emulated_ok: bool
) -> list[tuple[EngineGroup, EngineFacts, str]]:
    """Each engine the groups name (the default engine is not asked), asked side by side
    for its version and platform, with why it cannot take its platforms ("" when it can:
    engine_refusal)."""
    named = [group for group in groups if group.runner_host]
    found: dict[str, EngineFacts] = {}

    async def ask(host: str) -> None:
        found[host] = await routed_engine_facts(host, timeout)

    async with anyio.create_task_group() as task_group:
        for group in named:
            task_group.start_soon(ask, group.runner_host)
    client = pins().dagger
    judged = []
    for group in named:
        facts = found[group.runner_host]
        judged.append((group, facts, engine_refusal(facts, group.platforms, client, emulated_ok)))
    return judged


async def routed_engine_checks(
    routes: dict[Platform, str], timeout: float, emulated_ok: bool
) -> list[CheckResult]:
    """One check per engine an --engine names: reachable, the client's Dagger version, a
    platform that runs the platforms routed to it."""
    judged = await judged_engines(group_by_engine(list(routes), routes), timeout, emulated_ok)
    return [
        routed_engine_result(facts, group.platforms, refusal) for group, facts, refusal in judged
    ]


async def registry_checks(registries: Sequence[str]) -> list[CheckResult]:
    """GET each registry's API root from this host."""
    results: list[CheckResult] = []
    async with http_client(REGISTRY_SECONDS) as http:
        for registry in registries:
            try:
                response = await http.get(registry_url(registry))
            except httpx.HTTPError as error:
                reason = first_line(str(error), type(error).__name__)
                results.append(registry_result(registry, None, reason))
            else:
                results.append(registry_result(registry, response.status_code))
    return results


def disk_checks(docker_root: str) -> list[CheckResult]:
    """Free space in the current directory and, when known here, Docker's data directory."""
    places = {"working directory": Path.cwd()}
    if docker_root and Path(docker_root).is_dir():
        places["docker data"] = Path(docker_root)
    return [
        disk_result(place, str(path), shutil.disk_usage(path).free)
        for place, path in places.items()
    ]


async def diagnose(
    registries: Sequence[str],
    probe_image: str,
    platforms: Sequence[Platform],
    timeout: float,
    routes: dict[Platform, str] | None = None,
    emulated_ok: bool = False,
) -> list[CheckResult]:
    """Every check of `antrea-ci doctor`, in the order it prints them."""
    pinned = pins().dagger
    docker, docker_root = await docker_check(runner_host_of_environment())
    results = [await dagger_cli_check(pinned), docker]
    results += await engine_probe_checks(platforms, probe_image, timeout)
    results += await routed_engine_checks(routes or {}, timeout, emulated_ok)
    results += await registry_checks(registries)
    return results + disk_checks(docker_root)


async def _print_engine_checks(probe_image: str, platforms: Sequence[Platform]) -> None:
    """Connect, then print each engine check as a JSON line as soon as it is known."""
    try:
        async with engine_connection():
            async for result in engine_checks(platforms, probe_image, pins().dagger):
                print(result.to_json(), flush=True)
    except dagger.DaggerError as error:
        reason = first_line(str(error))
        # The SDK could not download a CLI, or could not run the one it was given.
        without_cli = isinstance(error, dagger.DownloadError) or isinstance(
            error.__cause__, OSError
        )
        result = (
            engine_without_cli(reason, pins().dagger)
            if without_cli
            else engine_unreachable(reason, runner_host_of_environment())
        )
        print(result.to_json(), flush=True)


def main(arguments: Sequence[str]) -> None:
    """python -m ci.doctor.probes IMAGE PLATFORM...: the engine checks, as JSON lines."""
    probe_image, *platforms = arguments
    anyio.run(_print_engine_checks, probe_image, [parse_platform(p) for p in platforms])


if __name__ == "__main__":
    main(sys.argv[1:])
