"""Go test binaries compiled on one platform and run on another: the plan (pure, no engine).

An emulated platform runs only what needs it: `go test -c` compiles the test binaries on
the engine's platform for the target, and the target runs each binary the way `go test`
would, in the package's directory, through test2json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

# `go list -f` template of one line per package: import path, directory, test file count.
PACKAGE_LIST_TEMPLATE = "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}"

# `go test` flags that belong to the test binary (as -test.NAME), by whether they take a value.
_BINARY_BOOL_FLAGS = frozenset({"short", "v", "failfast", "benchmem", "fullpath"})
_BINARY_VALUE_FLAGS = frozenset(
    {"run", "skip", "count", "timeout", "cpu", "parallel", "shuffle", "bench", "benchtime", "list"}
)
# What `go test` hands every test binary unless told otherwise.
DEFAULT_TIMEOUT = "10m"
_VERSION_ELEMENT = re.compile(r"v[2-9]|v[1-9][0-9]+")


@dataclass(frozen=True)
class GoPackage:
    """A package `go test` would visit: its import path, directory and whether it has tests."""

    import_path: str
    directory: str
    has_tests: bool

    @property
    def binary_name(self) -> str:
        """The file `go test -c -o DIR/` writes: the last path element (the one before a
        major version suffix such as /v2) plus .test."""
        elements = self.import_path.split("/")
        if len(elements) > 1 and _VERSION_ELEMENT.fullmatch(elements[-1]):
            return f"{elements[-2]}.test"
        return f"{elements[-1]}.test"


@dataclass(frozen=True)
class CompileGroup:
    """Packages whose test binaries can share one output directory: no two share a name."""

    directory: str
    packages: tuple[GoPackage, ...]

    def binary(self, package: GoPackage) -> str:
        return f"{self.directory}/{package.binary_name}"


def parse_package_list(output: str) -> list[GoPackage]:
    """The packages of `go list -f PACKAGE_LIST_TEMPLATE` output."""
    packages = []
    for line in output.splitlines():
        if not line.strip():
            continue
        import_path, directory, tests, external_tests = line.split("\t")
        packages.append(GoPackage(import_path, directory, int(tests) + int(external_tests) > 0))
    return packages


def compile_groups(packages: Iterable[GoPackage], root: str) -> list[CompileGroup]:
    """Packages in as few groups as their binaries' names allow (the n-th package of a name
    goes to the n-th group), each group to its own directory under root."""
    groups: list[list[GoPackage]] = []
    for package in packages:
        group = next(
            (
                members
                for members in groups
                if all(other.binary_name != package.binary_name for other in members)
            ),
            None,
        )
        if group is None:
            group = []
            groups.append(group)
        group.append(package)
    return [CompileGroup(f"{root}/{index}", tuple(members)) for index, members in enumerate(groups)]


def split_flags(flags: Iterable[str]) -> tuple[list[str], list[str]]:
    """`go test` flags split into build flags (for `go test -c`) and test binary flags
    (as -test.NAME); `-timeout 5m` and `-timeout=5m` alike."""
    build: list[str] = []
    binary: list[str] = []
    pending = ""
    for flag in flags:
        if pending:
            binary.append(f"-test.{pending}={flag}")
            pending = ""
            continue
        name, has_value, value = flag.lstrip("-").partition("=")
        if not flag.startswith("-") or (
            name not in _BINARY_BOOL_FLAGS and name not in _BINARY_VALUE_FLAGS
        ):
            build.append(flag)
        elif has_value:
            binary.append(f"-test.{name}={value}")
        elif name in _BINARY_VALUE_FLAGS:
            pending = name
        else:
            binary.append(f"-test.{name}")
    if pending:
        raise ValueError(f"the go test flag -{pending} needs a value")
    return build, binary


def binary_flags(run: str, extra: list[str]) -> list[str]:
    """The flags each test binary gets: what `go test` adds (a 10-minute timeout, a panic
    on an early os.Exit(0)), then -run and the user's test flags."""
    flags = ["-test.paniconexit0"]
    if not any(flag.startswith("-test.timeout=") for flag in extra):
        flags.append(f"-test.timeout={DEFAULT_TIMEOUT}")
    if run:
        flags.append(f"-test.run={run}")
    return [*flags, *extra]


def manifest(groups: Iterable[CompileGroup], source_dir: str, run_source_dir: str) -> str:
    """The runner's input: per package with tests, its binary, import path and directory
    (moved from source_dir, where it was listed, to run_source_dir), tab-separated."""
    lines = []
    for group in groups:
        for package in group.packages:
            if package.has_tests:
                directory = run_source_dir + package.directory.removeprefix(source_dir)
                lines.append(f"{group.binary(package)}\t{package.import_path}\t{directory}\n")
    return "".join(lines)


def _events(lines: Iterable[str]) -> list[dict[str, object]]:
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def unbuilt_package_events(
    packages: Iterable[GoPackage], build_lines: list[str], run_lines: list[str]
) -> list[str]:
    """`go test -json` events failing each package with tests whose binary never ran, as
    `go test` reports a package whose build failed (`go test -c` reports only the build)."""
    ran = {event.get("Package") for event in _events(run_lines)}
    failed_builds = {
        str(event.get("ImportPath", "")).split(" ")[0]: str(event.get("ImportPath", ""))
        for event in _events(build_lines)
        if event.get("Action") == "build-fail"
    }
    events = []
    for package in packages:
        name = package.import_path
        if not package.has_tests or name in ran:
            continue
        failed_build = failed_builds.get(name) or ", ".join(failed_builds.values())
        reason = "build failed" if failed_build else "no test binary was built"
        end: dict[str, object] = {"Action": "fail", "Package": name}
        if failed_build:
            end["FailedBuild"] = failed_build
        events += [
            json.dumps(
                {"Action": "output", "Package": name, "Output": f"FAIL\t{name} [{reason}]\n"}
            ),
            json.dumps(end),
        ]
    return events
