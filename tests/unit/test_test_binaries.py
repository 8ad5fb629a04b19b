"""Test binaries compiled on one platform, run on another: the plan (no engine)."""

from __future__ import annotations

import json

import pytest

from ci.testing.test_binaries import (
    GoPackage,
    binary_flags,
    compile_groups,
    manifest,
    parse_package_list,
    split_flags,
    unbuilt_package_events,
)

LISTED = (
    "antrea.io/antrea/v2/pkg/util/ip\t/src/pkg/util/ip\t2\t0\n"
    "antrea.io/antrea/v2/pkg/util/objectstore/testing\t/src/pkg/util/objectstore/testing\t0\t1\n"
    "antrea.io/antrea/v2/pkg/util/sftp/testing\t/src/pkg/util/sftp/testing\t1\t0\n"
    "antrea.io/antrea/v2/pkg/apis\t/src/pkg/apis\t0\t0\n"
    "antrea.io/antrea/v2/test/testing\t/src/test/testing\t3\t1\n"
)


def package(import_path: str, has_tests: bool = True) -> GoPackage:
    return GoPackage(import_path, "/src/" + import_path.split("/v2/")[-1], has_tests)


def test_go_list_lines_say_which_packages_have_tests() -> None:
    packages = parse_package_list(LISTED + "\n")
    assert [p.has_tests for p in packages] == [True, True, True, False, True]
    assert packages[1].directory == "/src/pkg/util/objectstore/testing"


@pytest.mark.parametrize(
    ("import_path", "binary"),
    [
        ("antrea.io/antrea/v2/pkg/util/ip", "ip.test"),
        ("antrea.io/antrea/v2", "antrea.test"),
        ("example.com/tool/v12", "tool.test"),
        ("example.com/api/v1", "v1.test"),
        ("example.com/api/v0", "v0.test"),
        ("main", "main.test"),
    ],
)
def test_binary_names_follow_go_test_c(import_path: str, binary: str) -> None:
    assert package(import_path).binary_name == binary


def test_packages_of_one_name_go_to_separate_groups() -> None:
    groups = compile_groups(parse_package_list(LISTED), "/tests")
    assert [group.directory for group in groups] == ["/tests/0", "/tests/1", "/tests/2"]
    assert [len(group.packages) for group in groups] == [3, 1, 1]
    for group in groups:
        names = [member.binary_name for member in group.packages]
        assert len(names) == len(set(names))
    assert groups[1].binary(groups[1].packages[0]) == "/tests/1/testing.test"


def test_manifest_names_each_tested_package_binary_and_directory() -> None:
    groups = compile_groups(parse_package_list(LISTED), "/tests")
    lines = manifest(groups, "/src", "/work").splitlines()
    assert lines[0] == "/tests/0/ip.test\tantrea.io/antrea/v2/pkg/util/ip\t/work/pkg/util/ip"
    assert len(lines) == 4
    assert not any("pkg/apis" in line for line in lines)


@pytest.mark.parametrize(
    ("flags", "build", "binary"),
    [
        (["-count=1", "-short"], [], ["-test.count=1", "-test.short"]),
        (["-timeout", "5m", "-v"], [], ["-test.timeout=5m", "-test.v"]),
        (["-tags", "linux", "-run=TestX"], ["-tags", "linux"], ["-test.run=TestX"]),
        (["-ldflags=-s -w", "--failfast"], ["-ldflags=-s -w"], ["-test.failfast"]),
    ],
)
def test_flags_split_between_compiler_and_binary(
    flags: list[str], build: list[str], binary: list[str]
) -> None:
    assert split_flags(flags) == (build, binary)


def test_a_binary_flag_without_its_value_is_refused() -> None:
    with pytest.raises(ValueError, match="-count needs a value"):
        split_flags(["-count"])


def test_binaries_get_go_tests_defaults_unless_overridden() -> None:
    assert binary_flags("", []) == ["-test.paniconexit0", "-test.timeout=10m"]
    assert binary_flags("TestA", ["-test.timeout=1h"]) == [
        "-test.paniconexit0",
        "-test.run=TestA",
        "-test.timeout=1h",
    ]


def test_unbuilt_packages_fail_as_go_test_reports_a_failed_build() -> None:
    built, broken, silent = package("x.io/a"), package("x.io/b"), package("x.io/c")
    build = [
        json.dumps({"ImportPath": "x.io/b [x.io/b.test]", "Action": "build-output", "Output": "e"}),
        json.dumps({"ImportPath": "x.io/b [x.io/b.test]", "Action": "build-fail"}),
    ]
    ran = [json.dumps({"Action": "pass", "Package": "x.io/a"})]
    events = [json.loads(line) for line in unbuilt_package_events([built, broken], build, ran)]
    assert events == [
        {"Action": "output", "Package": "x.io/b", "Output": "FAIL\tx.io/b [build failed]\n"},
        {"Action": "fail", "Package": "x.io/b", "FailedBuild": "x.io/b [x.io/b.test]"},
    ]
    unexplained = [json.loads(line) for line in unbuilt_package_events([silent], [], ran)]
    assert unexplained[0]["Output"] == "FAIL\tx.io/c [no test binary was built]\n"
    assert unexplained[1] == {"Action": "fail", "Package": "x.io/c"}
