"""Routing platforms to engines (`--engine PLATFORM=RUNNER_HOST`), without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci.core.engines import (
    EngineFacts,
    EngineGroup,
    EngineRouteError,
    engine_refusal,
    group_by_engine,
    parse_route,
    parse_routes,
    platform_arguments,
    process_timings,
)
from ci.core.platforms import parse_platform

AMD64, ARM64, ARMV7 = map(parse_platform, ("linux/amd64", "linux/arm64", "linux/arm/v7"))
ARM_ENGINE = "tcp://arm-builder:1234"


@pytest.mark.parametrize(
    "host",
    [
        ARM_ENGINE,
        "unix:///run/dagger/engine.sock",
        "container://dagger-engine-arm",
        "kube-pod://dagger-engine-x7?namespace=dagger",
        "image://registry.dagger.io/engine:v0.21.8",
        "docker-container://antrea-ci-engine-2",
    ],
)
def test_a_route_takes_every_runner_host_dagger_takes(host: str) -> None:
    assert parse_route(f"arm64={host}") == (ARM64, host)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("linux/arm64", "expected PLATFORM=RUNNER_HOST"),
        ("linux/arm64=arm-builder:1234", "expected PLATFORM=RUNNER_HOST"),
        ("linux/arm64=tcp://", "expected PLATFORM=RUNNER_HOST"),
        ("linux/s390x=tcp://z:1", "unsupported platform 'linux/s390x'"),
        ("linux/arm64=http://arm-builder", "unknown runner host scheme 'http'"),
    ],
)
def test_a_malformed_route_is_refused_naming_it(text: str, message: str) -> None:
    with pytest.raises(EngineRouteError, match=message) as refused:
        parse_route(text)
    assert repr(text) in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_platform_routed_twice_is_refused() -> None:
    with pytest.raises(EngineRouteError, match="names linux/arm64 twice"):
        parse_routes([f"arm64={ARM_ENGINE}", "linux/arm64=tcp://other:1"])


def test_platforms_without_an_engine_of_their_own_go_to_the_default_engine() -> None:
    groups = group_by_engine([AMD64, ARM64, ARMV7], parse_routes([f"linux/arm64={ARM_ENGINE}"]))
    assert groups == [EngineGroup("", (AMD64, ARMV7)), EngineGroup(ARM_ENGINE, (ARM64,))]
    assert [group.label for group in groups] == ["the default engine", ARM_ENGINE]


def test_platforms_routed_to_one_engine_share_it() -> None:
    routes = parse_routes([f"arm64={ARM_ENGINE}", f"arm/v7={ARM_ENGINE}"])
    assert group_by_engine([AMD64, ARM64, ARMV7], routes) == [
        EngineGroup("", (AMD64,)),
        EngineGroup(ARM_ENGINE, (ARM64, ARMV7)),
    ]


def test_a_route_for_a_platform_the_run_does_not_build_is_refused() -> None:
    with pytest.raises(EngineRouteError, match="names linux/arm64, which this run does not build"):
        group_by_engine([AMD64], parse_routes([f"arm64={ARM_ENGINE}"]))


def facts(**values: str) -> EngineFacts:
    return EngineFacts(ARM_ENGINE, **{"version": "v0.21.8", "platform": "linux/arm64", **values})


def test_a_native_engine_of_the_clients_version_takes_its_platforms() -> None:
    assert engine_refusal(facts(), [ARM64, ARMV7], "0.21.8", emulated_ok=False) == ""


@pytest.mark.parametrize(
    ("observed", "emulated_ok", "says"),
    [
        ({"unreachable": "connection refused"}, False, "unreachable (connection refused)"),
        ({"version": "v0.20.1"}, False, "runs Dagger v0.20.1, this client 0.21.8"),
        ({"platform": "linux/amd64"}, False, "reports linux/amd64, which does not run linux/arm64"),
        ({"platform": "linux/s390x"}, True, "reports platform 'linux/s390x'"),
    ],
)
def test_an_engine_that_cannot_take_its_platforms_is_refused_in_one_line_naming_it(
    observed: dict[str, str], emulated_ok: bool, says: str
) -> None:
    refusal = engine_refusal(facts(**observed), [ARM64], "0.21.8", emulated_ok)
    assert refusal.startswith(f"engine {ARM_ENGINE} for linux/arm64: ")
    assert says in refusal
    assert "\n" not in refusal


def test_an_emulating_engine_is_taken_when_emulation_is_allowed() -> None:
    observed = facts(platform="linux/amd64")
    assert engine_refusal(observed, [ARM64], "0.21.8", emulated_ok=True) == ""
    assert "--emulated-engines" in engine_refusal(observed, [ARM64], "0.21.8", emulated_ok=False)


def test_each_routed_process_writes_its_timings_beside_the_runs_and_takes_its_platforms() -> None:
    platforms = [parse_platform("linux/amd64"), parse_platform("linux/arm/v7")]
    assert process_timings(Path("out/t.json"), platforms) == Path(
        "out/t-linux-amd64+linux-arm-v7.json"
    )
    assert platform_arguments(platforms) == [
        *["--platform", "linux/amd64", "--platform", "linux/arm/v7"]
    ]
