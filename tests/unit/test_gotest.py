"""`go test -json` parsing and JUnit export, on a real run of the failing fixture."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ci.testing.gotest import FAIL, PASS, junit_xml, parse_go_test_json

FIXTURES = Path(__file__).parents[1] / "fixtures"
BROKEN = "antrea.io/antrea/v2/pkg/util/broken"


@pytest.fixture(scope="module")
def go_test_json(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """`go test -json` of antrea-mini with the failing-tests overlay, run by the host's Go."""
    tree = tmp_path_factory.mktemp("gotest") / "antrea-mini"
    shutil.copytree(FIXTURES / "antrea-mini", tree)
    shutil.copytree(FIXTURES / "failing-tests/pkg", tree / "pkg", dirs_exist_ok=True)
    result = subprocess.run(
        ["go", "test", "-json", "./pkg/..."], cwd=tree, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    return result.stdout.splitlines()


def test_failures_and_panics_are_named_and_passes_counted(go_test_json: list[str]) -> None:
    report = parse_go_test_json(go_test_json)
    assert not report.ok
    assert {test.name for test in report.failed_tests} == {"TestHalfOfThreeIsWrong", "TestPanics"}
    assert report.count(PASS) >= 6
    assert [package.name for package in report.failed_packages] == [BROKEN]
    panic = next(test for test in report.failed_tests if test.name == "TestPanics")
    assert "assignment to entry in nil map" in "".join(panic.output)


def test_junit_lists_failures_and_passes(go_test_json: list[str]) -> None:
    root = ElementTree.fromstring(junit_xml(parse_go_test_json(go_test_json)))
    assert root.get("failures") == "2"
    suite = next(s for s in root.iter("testsuite") if s.get("name") == BROKEN)
    outcomes = {
        case.get("name"): "failure" if case.find("failure") is not None else "pass"
        for case in suite.iter("testcase")
    }
    assert outcomes == {
        "TestHalfOfFour": "pass",
        "TestHalfOfThreeIsWrong": "failure",
        "TestPanics": "failure",
    }


def test_a_crash_before_the_result_fails_the_running_test() -> None:
    lines = [
        '{"Action":"run","Package":"p","Test":"TestCrash"}',
        '{"Action":"output","Package":"p","Test":"TestCrash","Output":"fatal error\\n"}',
        '{"Action":"fail","Package":"p","Elapsed":0.5}',
    ]
    report = parse_go_test_json(lines)
    assert [(t.name, t.outcome) for t in report.tests] == [("TestCrash", FAIL)]


def test_build_errors_fail_the_package_and_appear_in_junit() -> None:
    lines = [
        "# antrea.io/x/pkg/a",
        "pkg/a/a.go:3:1: syntax error",
        '{"Action":"start","Package":"antrea.io/x/pkg/a"}',
        '{"Action":"output","Package":"antrea.io/x/pkg/a",'
        '"Output":"FAIL\\tantrea.io/x/pkg/a [build failed]\\n"}',
        '{"Action":"fail","Package":"antrea.io/x/pkg/a","Elapsed":0}',
    ]
    report = parse_go_test_json(lines)
    assert not report.ok
    assert "syntax error" in junit_xml(report)
    assert "[build failed]" in junit_xml(report)


def test_a_failed_test_build_is_one_failed_package_with_its_compiler_output(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "antrea-mini"
    shutil.copytree(FIXTURES / "antrea-mini", tree)
    broken = tree / "pkg/util/uncompilable"
    broken.mkdir()
    (broken / "uncompilable_test.go").write_text(
        'package uncompilable\n\nimport "testing"\n\nfunc TestX(t *testing.T) { unused := 1 }\n'
    )
    result = subprocess.run(
        ["go", "test", "-json", "./pkg/util/uncompilable"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    report = parse_go_test_json(result.stdout.splitlines())
    name = "antrea.io/antrea/v2/pkg/util/uncompilable"
    assert [package.name for package in report.failed_packages] == [name]
    assert "declared and not used: unused" in "".join(report.failed_packages[0].output)


def test_packages_served_by_gos_test_cache_are_named(tmp_path: Path) -> None:
    """Run the fixture's tests twice with the host's Go and one cache, a package changed
    in between: the second run's report names the packages Go's cache gave, and not the
    changed one."""
    tree = tmp_path / "antrea-mini"
    shutil.copytree(FIXTURES / "antrea-mini", tree)
    env = {**os.environ, "GOCACHE": str(tmp_path / "go-cache"), "GOFLAGS": "-buildvcs=false"}

    def run() -> list[str]:
        command = ["go", "test", "-json", "-coverprofile=cover.out", "./pkg/..."]
        done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    assert parse_go_test_json(run()).cached_packages == []
    with (tree / "pkg/util/ip/ip_test.go").open("a") as changed:
        changed.write("\nfunc TestAddedBetweenRuns(t *testing.T) {}\n")
    cached = parse_go_test_json(run()).cached_packages
    assert "antrea.io/antrea/v2/pkg/version" in cached
    assert "antrea.io/antrea/v2/pkg/util/ip" not in cached
