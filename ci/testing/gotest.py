"""`go test -json` output as a typed report, and as JUnit XML (pure, no engine)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree import ElementTree

PASS, FAIL, SKIP = "pass", "fail", "skip"
# The line `go test` ends a package with when its result came from Go's test cache.
_CACHED = re.compile(r"ok\s+\S+\s+\(cached\)")


@dataclass
class TestCase:
    """One test (or subtest, named Parent/Child) of one package."""

    package: str
    name: str
    outcome: str = ""
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)


@dataclass
class PackageResult:
    """One package: its outcome and the output that belongs to no test (build errors...)."""

    name: str
    outcome: str = ""
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)


@dataclass
class TestReport:
    """Every package and test of a `go test -json` run."""

    packages: list[PackageResult]
    tests: list[TestCase]

    def count(self, outcome: str) -> int:
        return sum(1 for test in self.tests if test.outcome == outcome)

    @property
    def seconds(self) -> float:
        return sum(package.seconds for package in self.packages)

    @property
    def failed_tests(self) -> list[TestCase]:
        return [test for test in self.tests if test.outcome == FAIL]

    @property
    def failed_packages(self) -> list[PackageResult]:
        return [package for package in self.packages if package.outcome == FAIL]

    @property
    def cached_packages(self) -> list[str]:
        """Packages whose result Go's test cache gave: `ok PKG (cached)` in their output."""
        return [
            package.name
            for package in self.packages
            if any(_CACHED.match(line) for line in package.output)
        ]

    @property
    def ok(self) -> bool:
        return not self.failed_tests and not self.failed_packages

    def summary(self) -> str:
        return (
            f"{len(self.packages)} packages, {self.count(PASS)} passed, {self.count(FAIL)} failed, "
            f"{self.count(SKIP)} skipped in {self.seconds:.1f}s"
        )


def parse_go_test_json(lines: Iterable[str]) -> TestReport:
    """Fold `go test -json` events into a report.

    Lines that are not JSON events (a build error printed before the test binary ran)
    are kept as output of an unnamed package. A test still running when its package
    ended (a crash) counts as failed.
    """
    packages: dict[str, PackageResult] = {}
    tests: dict[tuple[str, str], TestCase] = {}
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            if line.strip():
                packages.setdefault("", PackageResult("", FAIL)).output.append(line.rstrip("\n"))
            continue
        if not isinstance(event, dict):
            continue
        # Build events name "PKG [PKG.test]" when the package's test build failed.
        name = event.get("Package") or event.get("ImportPath", "").split(" [")[0]
        package = packages.setdefault(name, PackageResult(name))
        action = event.get("Action", "")
        test_name = event.get("Test")
        if test_name:
            test = tests.setdefault((name, test_name), TestCase(name, test_name))
            if action == "output":
                test.output.append(event.get("Output", ""))
            elif action in (PASS, FAIL, SKIP):
                test.outcome = action
                test.seconds = float(event.get("Elapsed", 0.0))
        elif action in ("output", "build-output"):
            package.output.append(event.get("Output", ""))
        elif action in (PASS, FAIL, SKIP):
            package.outcome = action
            package.seconds = float(event.get("Elapsed", 0.0))
        elif action == "build-fail":
            package.outcome = FAIL
    for test in tests.values():
        if not test.outcome:
            test.outcome = FAIL
    return TestReport(list(packages.values()), list(tests.values()))


def junit_xml(report: TestReport) -> str:
    """The report as JUnit XML: one testsuite per package, one testcase per test."""
    suites = ElementTree.Element(
        "testsuites",
        tests=str(len(report.tests)),
        failures=str(report.count(FAIL)),
        skipped=str(report.count(SKIP)),
        time=f"{report.seconds:.3f}",
    )
    for package in report.packages:
        tests = [test for test in report.tests if test.package == package.name]
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=package.name or "(build)",
            tests=str(len(tests)),
            failures=str(sum(test.outcome == FAIL for test in tests)),
            skipped=str(sum(test.outcome == SKIP for test in tests)),
            time=f"{package.seconds:.3f}",
        )
        for test in tests:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=package.name,
                name=test.name,
                time=f"{test.seconds:.3f}",
            )
            if test.outcome == FAIL:
                failure = ElementTree.SubElement(case, "failure", message=f"{test.name} failed")
                failure.text = "".join(test.output)
            elif test.outcome == SKIP:
                ElementTree.SubElement(case, "skipped")
        if package.outcome == FAIL and not any(test.outcome == FAIL for test in tests):
            case = ElementTree.SubElement(
                suite, "testcase", classname=package.name, name="(package)"
            )
            failure = ElementTree.SubElement(
                case, "failure", message=f"{package.name or 'build'} failed"
            )
            failure.text = "".join(package.output)
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
