"""Routing platforms to Dagger engines: `--engine PLATFORM=RUNNER_HOST` parsed, the run's
platforms grouped by engine, and what an engine reported judged (pure, no engine).

A RUNNER_HOST is what Dagger's clients read from _EXPERIMENTAL_DAGGER_RUNNER_HOST; the
default engine (the empty host) is whatever the environment already names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ci.core.platforms import Platform, PlatformError, parse_platform, runs_natively

RUNNER_VARIABLE = "_EXPERIMENTAL_DAGGER_RUNNER_HOST"
# The schemes Dagger 0.21's client drivers accept.
RUNNER_SCHEMES = (
    "tcp",
    "unix",
    "tls",
    "ssh",
    "container",
    "image",
    "kube-pod",
    "docker-container",
    "docker-image",
    "podman-container",
    "podman-image",
    "image+docker",
    "image+podman",
    "container+docker",
    "container+podman",
)
DEFAULT_ENGINE = ""


class EngineRouteError(ValueError):
    """An --engine value that is malformed, or an engine that cannot take its platforms."""


@dataclass(frozen=True)
class EngineGroup:
    """The platforms one engine builds; runner_host "" is the default engine."""

    runner_host: str
    platforms: tuple[Platform, ...]

    @property
    def label(self) -> str:
        return self.runner_host or "the default engine"


def parse_route(text: str) -> tuple[Platform, str]:
    """PLATFORM=RUNNER_HOST, e.g. linux/arm64=tcp://arm-builder:1234."""
    platform_text, equals, host = text.partition("=")
    scheme, separator, rest = host.partition("://")
    if not equals or not separator or not rest:
        raise EngineRouteError(
            f"--engine {text!r}: expected PLATFORM=RUNNER_HOST, e.g. linux/arm64=tcp://HOST:PORT"
        )
    try:
        platform = parse_platform(platform_text)
    except PlatformError as error:
        raise EngineRouteError(f"--engine {text!r}: {error}") from None
    if scheme not in RUNNER_SCHEMES:
        raise EngineRouteError(
            f"--engine {text!r}: unknown runner host scheme {scheme!r}; "
            f"Dagger takes {', '.join(s + '://' for s in RUNNER_SCHEMES)}"
        )
    return platform, host


def parse_routes(texts: Iterable[str]) -> dict[Platform, str]:
    """Every --engine value, each platform named once."""
    routes: dict[Platform, str] = {}
    for text in texts:
        platform, host = parse_route(text)
        if platform in routes:
            raise EngineRouteError(f"--engine names {platform} twice")
        routes[platform] = host
    return routes


def group_by_engine(targets: Sequence[Platform], routes: dict[Platform, str]) -> list[EngineGroup]:
    """The run's platforms grouped by the engine that builds them, in the order first
    named; platforms without an engine of their own go to the default engine. A route
    for a platform the run does not build is refused."""
    stray = [str(platform) for platform in routes if platform not in targets]
    if stray:
        raise EngineRouteError(
            f"--engine names {', '.join(stray)}, which this run does not build "
            f"(its platforms: {', '.join(map(str, targets))})"
        )
    groups: dict[str, list[Platform]] = {}
    for target in targets:
        groups.setdefault(routes.get(target, DEFAULT_ENGINE), []).append(target)
    return [EngineGroup(host, tuple(platforms)) for host, platforms in groups.items()]


@dataclass(frozen=True)
class EngineFacts:
    """What an engine said of itself: its Dagger version and native platform, or why it
    did not answer."""

    runner_host: str
    version: str = ""
    platform: str = ""
    unreachable: str = ""


def engine_refusal(
    facts: EngineFacts, platforms: Sequence[Platform], client_version: str, emulated_ok: bool
) -> str:
    """Why this engine cannot take these platforms, in one line naming it and what to do;
    "" when it can. Its platform must run theirs natively unless emulated_ok."""
    name = f"engine {facts.runner_host} for {', '.join(map(str, platforms))}"
    if facts.unreachable:
        return f"{name}: unreachable ({facts.unreachable}); start it, or route elsewhere"
    if facts.version.lstrip("v") != client_version.lstrip("v"):
        return (
            f"{name}: runs Dagger {facts.version}, this client {client_version}; "
            f"run a {client_version} engine there"
        )
    try:
        native = parse_platform(facts.platform)
    except PlatformError:
        return f"{name}: reports platform {facts.platform!r}, which antrea-ci does not know"
    foreign = [str(p) for p in platforms if not runs_natively(p, native)]
    if foreign and not emulated_ok:
        return (
            f"{name}: reports {native}, which does not run {', '.join(foreign)} natively; "
            "route it to a native engine, or pass --emulated-engines to emulate there"
        )
    return ""


def process_timings(path: Path, platforms: Sequence[Platform]) -> Path:
    """Where one routed process writes its timings: the run's --timings path with its
    platforms in the name (timings.json: timings-linux-arm64.json)."""
    slug = "+".join(platform.slug for platform in platforms)
    return path.with_name(f"{path.stem}-{slug}{path.suffix}")


def platform_arguments(platforms: Iterable[Platform | str]) -> list[str]:
    """`--platform P` for each platform, as a command line takes them."""
    return [argument for platform in platforms for argument in ("--platform", str(platform))]
