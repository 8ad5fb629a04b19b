"""Antrea's Go unit tests run in containers per platform, with a report (issue 4)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from xml.etree import ElementTree

import anyio
import pytest
from dagger import dag

from ci.main import Antrea
from ci.testing.containers import RaceDetectorUnavailable
from ci.testing.unit_tests import UnitTestFailure
from tests.support.inputs import ANTREA_CI, FIXTURES, antrea_checkout
from tests.support.markdown import markdown_tables
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

# The engine here is linux/amd64: arm64 runs emulated, where the race detector cannot run
# (ThreadSanitizer needs a 48-bit address space); on a native Arm64 runner it is on.
RACE = {"linux/amd64": True, "linux/arm64": False, "linux/arm/v7": False}
FAILING = {"TestHalfOfThreeIsWrong", "TestPanics"}


def antrea_for(engine: OfflineTestBed, checkout: Path) -> Antrea:
    return Antrea(source=dag.host().directory(str(checkout)), go_image=engine.go_image)


def race_logs(go_test_json: str) -> str:
    """What the fixture's race test logged: whether the race detector was built in."""
    outputs = []
    for line in go_test_json.splitlines():
        event = json.loads(line)
        if (
            event.get("Test") == "TestRaceDetectorMatchesExpectation"
            and event["Action"] == "output"
        ):
            outputs.append(event["Output"])
    return "".join(outputs)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return antrea_checkout(tmp_path_factory.mktemp("unit"))


@pytest.fixture(scope="module")
def failing_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = antrea_checkout(tmp_path_factory.mktemp("failing"))
    shutil.copytree(FIXTURES / "failing-tests/pkg", tree / "pkg", dirs_exist_ok=True)
    return tree


@pytest.mark.parametrize("platform", RACE)
async def test_fixture_tests_pass_with_race_where_go_has_it(
    engine: OfflineTestBed, checkout: Path, platform: str
) -> None:
    started = time.monotonic()
    outcome = await antrea_for(engine, checkout).test(platform)
    print(f"\nunit tests on {platform}: {outcome.summary} ({time.monotonic() - started:.1f}s)")
    assert outcome.platform == platform
    assert outcome.failed == 0 and outcome.failed_tests == []
    assert outcome.passed >= 6
    assert outcome.race is RACE[platform]
    # Emulated, only the test binaries run there: they are compiled on the engine's platform.
    assert outcome.compiled_on == "linux/amd64"
    assert bool(outcome.note) is not RACE[platform]
    logged = race_logs(await outcome.json_report.contents())
    assert f"race detector enabled: {str(RACE[platform]).lower()}" in logged


async def test_race_on_under_emulation_is_refused_before_any_build(
    engine: OfflineTestBed, checkout: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(RaceDetectorUnavailable, match="emulated linux/arm64 cannot run"):
        await antrea_for(engine, checkout).test("linux/arm64", ["./pkg/util/race/..."], race="on")
    assert time.monotonic() - started < 60  # refused up front, not after an emulated compile


async def test_emulated_build_failures_and_test_failures_are_named(
    engine: OfflineTestBed, failing_checkout: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "antrea-mini"
    shutil.copytree(failing_checkout, tree)
    uncompilable = tree / "pkg/util/uncompilable"
    uncompilable.mkdir()
    (uncompilable / "uncompilable_test.go").write_text(
        'package uncompilable\n\nimport "testing"\n\nfunc TestX(t *testing.T) { unused := 1 }\n'
    )
    outcome = await antrea_for(engine, tree).test_report(
        "linux/arm/v7", ["./pkg/util/..."], extra_flags=["-count=1", "-short"]
    )
    assert outcome.emulated and outcome.compiled_on == "linux/amd64"
    assert {name.rsplit(".", 1)[1] for name in outcome.failed_tests} == FAILING
    assert outcome.failed_packages == ["antrea.io/antrea/v2/pkg/util/uncompilable"]
    report = await outcome.json_report.contents()
    assert "declared and not used: unused" in report
    assert outcome.passed >= 4


async def test_failures_and_panics_are_named_and_reported(
    engine: OfflineTestBed, failing_checkout: Path, tmp_path: Path
) -> None:
    antrea = antrea_for(engine, failing_checkout)
    with pytest.raises(UnitTestFailure) as failed:
        await antrea.test("linux/amd64")
    for name in FAILING:
        assert name in str(failed.value)

    outcome = await antrea.test_report("linux/amd64")
    assert outcome.failed == 2 and outcome.passed >= 7
    await outcome.junit.export(str(tmp_path / "junit.xml"))
    root = ElementTree.parse(tmp_path / "junit.xml").getroot()
    failures = {
        case.get("name") for case in root.iter("testcase") if case.find("failure") is not None
    }
    assert failures == FAILING
    assert len(list(root.iter("testcase"))) >= 9


def cli_test(checkout: Path, timings: Path) -> dict[str, int]:
    """`antrea-ci test` of the checkout on linux/amd64 in a session of its own: what the
    engine said of its commands (its record in the timings)."""
    command = [ANTREA_CI, "test", "--source", str(checkout), "-p", "linux/amd64"]
    result = subprocess.run(
        [*command, "--timings", str(timings)], capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stderr
    engine: dict[str, int] = json.loads(timings.read_text())["engine"]
    assert f"engine: {engine['ran']} commands ran, {engine['cached']} served" in result.stderr
    return engine


async def test_a_rerun_is_served_by_the_engines_cache_and_a_change_by_gos(
    engine: OfflineTestBed, checkout: Path, tmp_path: Path
) -> None:
    """Nothing changed: the engine ran no command the second time (its own record, not a
    clock). One test file changed: the tests run again, and Go's test cache gives the
    results of the packages that did not change."""
    first = cli_test(checkout, tmp_path / "first.json")
    again = cli_test(checkout, tmp_path / "again.json")
    print(f"\nfirst run: {first}; again: {again}")
    assert again["ran"] == 0 and again["cached"] > 0, again

    changed = tmp_path / "changed"
    shutil.copytree(checkout, changed)
    # A test no earlier run added (Go's test cache outlives this test on the engine).
    with (changed / "pkg/util/ip/ip_test.go").open("a") as test_file:
        test_file.write(f"\nfunc TestAddedBetweenRuns{uuid.uuid4().hex}(t *testing.T) {{}}\n")
    outcome = await antrea_for(engine, changed).test("linux/amd64")
    assert "antrea.io/antrea/v2/pkg/version" in outcome.cached_packages
    assert "antrea.io/antrea/v2/pkg/util/ip" not in outcome.cached_packages
    assert outcome.passed >= 7


async def test_coverage_is_returned_when_asked_for(engine: OfflineTestBed, checkout: Path) -> None:
    outcome = await antrea_for(engine, checkout).test("linux/amd64", coverage=True)
    assert outcome.coverage is not None
    assert (await outcome.coverage.contents()).startswith("mode: atomic")


async def test_cli_exits_1_and_writes_junit_on_failures(
    engine: OfflineTestBed, failing_checkout: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "report.xml"
    command = [
        str(Path(sys.executable).parent / "antrea-ci"),
        "test",
        "--source",
        str(failing_checkout),
        "--platform",
        "linux/amd64",
        "--junit",
        str(junit),
        "--timings",
        str(tmp_path / "timings.json"),
        "--summary",
        str(tmp_path / "summary.md"),
    ]
    result = await anyio.run_process(command, check=False)
    stdout = result.stdout.decode()
    assert result.returncode == 1, result.stderr.decode()
    assert "race detector on" in stdout
    assert "FAIL antrea.io/antrea/v2/pkg/util/broken.TestPanics" in stdout
    assert junit.exists()
    summary = (tmp_path / "summary.md").read_text()
    assert "**2 failed** on linux/amd64 (race detector on): " in summary
    assert "<code>antrea.io/antrea/v2/pkg/util/broken.TestPanics</code>" in summary
    assert "assignment to entry in nil map" in summary
    (stages,) = markdown_tables(summary)
    assert stages[0] == ["stage", "linux/amd64 (native)"] and stages[1][0] == "unit-tests"
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert timings["command"] == "test"
    assert [(s["platform"], s["stage"], s["emulated"]) for s in timings["stages"]] == [
        ("linux/amd64", "unit-tests", False)
    ]
