"""Every bad input ends in one clear error and its exit code, as README.md's table says
(issue 14): each row of that table runs here through the `antrea-ci` command line."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci.core.catalog import IMAGE_NAMES, RELEASED
from tests.support.inputs import ANTREA_CI, FIXTURES, antrea_checkout, fixture_options, ovs_tarball
from tests.support.registry_api import exists
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

README = Path(__file__).resolve().parents[2] / "README.md"
TABLE_TITLE = "## When something is wrong"


@dataclass(frozen=True)
class Inputs:
    """What the rows' commands are made of."""

    testbed: OfflineTestBed
    workdir: Path
    checkout: Path
    tarball: Path

    def build(
        self, *args: str, source: Path | None = None, tarball: Path | None = None
    ) -> list[str]:
        return [
            "build",
            *fixture_options(source or self.checkout, tarball or self.tarball),
            *["--platform", "linux/amd64", "--output", str(self.workdir / uuid.uuid4().hex)],
            *args,
        ]

    def publish_arch(self, namespace: str, *args: str) -> list[str]:
        return [
            "publish-arch",
            *fixture_options(self.checkout, self.tarball),
            *["--platform", "linux/amd64", "--namespace", namespace, "--tag", "v2.7.0", *args],
        ]


@dataclass(frozen=True)
class Row:
    """One row of README's table: what is wrong, what the user sees, the exit code."""

    wrong: str
    sees: str
    exit_code: int
    command: Callable[[Inputs], list[str]]


def _corrupt_tarball(inputs: Inputs) -> Path:
    good = inputs.tarball.read_bytes()
    path = inputs.workdir / "openvswitch-corrupt.tar.gz"
    path.write_bytes(good[: len(good) // 2])
    return path


def _not_gzip(inputs: Inputs) -> Path:
    path = inputs.workdir / "openvswitch-not-gzip.tar.gz"
    path.write_text("this is not a tarball\n")
    return path


def _pinning_another_ovs(inputs: Inputs) -> Path:
    tree = antrea_checkout(inputs.workdir)
    (tree / "build/images/deps/ovs-version").write_text("3.6.0\n")
    return tree


def _uncompilable(inputs: Inputs) -> Path:
    tree = antrea_checkout(inputs.workdir)
    with (tree / "cmd/antrea-agent/main.go").open("a") as main:
        main.write("\nfunc broken() { undefinedOnPurpose() }\n")
    return tree


def _wrong_password(inputs: Inputs) -> list[str]:
    auth = f"{inputs.testbed.auth_registry}={inputs.testbed.auth_user}:env:WRONG_PASSWORD"
    return inputs.publish_arch(f"{inputs.testbed.auth_registry}/wrong", "--auth", auth)


ROWS = [
    Row(
        "an unknown platform",
        "Invalid value for --platform: unsupported platform 'linux/s390x'",
        2,
        lambda inputs: inputs.build("--platform", "linux/s390x"),
    ),
    Row(
        "a bad tag",
        "Invalid value for '--tag': invalid tag 'bad tag'",
        2,
        lambda inputs: ["merge", "--namespace", "127.0.0.1:5310/ok", "--tag", "bad tag"],
    ),
    Row(
        "a gate-tests value that is not a package pattern",
        "Invalid value for '--gate-tests': not a Go package pattern: '-run=.' (give one, e.g. "
        "./pkg/util/...)",
        2,
        lambda inputs: [
            *["publish-arch", "--namespace", "127.0.0.1:5310/ok", "--tag", "v2.7.0"],
            "--gate-tests=-run=.",
        ],
    ),
    Row(
        "a malformed engine route",
        "Invalid value for '--engine': --engine 'arm64': expected PLATFORM=RUNNER_HOST, e.g. "
        "linux/arm64=tcp://HOST:PORT",
        2,
        lambda inputs: inputs.build("--engine", "arm64"),
    ),
    Row(
        "an engine route for a platform the run does not build",
        "Invalid value for --engine: --engine names linux/arm64, which this run does not "
        "build (its platforms: linux/amd64)",
        2,
        lambda inputs: inputs.build("--engine", "linux/arm64=tcp://arm-builder:1234"),
    ),
    Row(
        "a bad namespace",
        "Invalid value for '--namespace': invalid repository 'Bad/NS'",
        2,
        lambda inputs: ["merge", "--namespace", "Bad/NS", "--tag", "v2.7.0"],
    ),
    Row(
        "a source that is not Antrea",
        "error: the source directory is not an Antrea tree: it has no go.mod",
        1,
        lambda inputs: inputs.build(source=FIXTURES / "ovs-mini"),
    ),
    Row(
        "a corrupt OVS tarball",
        "error: cannot unpack the OVS tarball openvswitch-corrupt.tar.gz",
        1,
        lambda inputs: inputs.build(tarball=_corrupt_tarball(inputs)),
    ),
    Row(
        "an OVS tarball that is not gzip",
        "error: cannot unpack the OVS tarball openvswitch-not-gzip.tar.gz",
        1,
        lambda inputs: inputs.build(tarball=_not_gzip(inputs)),
    ),
    Row(
        "an OVS tarball of another version than the tree pins",
        "error: the OVS tarball openvswitch-3.7.1.tar.gz is Open vSwitch 3.7.1, but the "
        "Antrea tree pins 3.6.0",
        1,
        lambda inputs: inputs.build(source=_pinning_another_ovs(inputs)),
    ),
    Row(
        "a Go tree that does not compile",
        "undefined: undefinedOnPurpose",
        1,
        lambda inputs: inputs.build(source=_uncompilable(inputs)),
    ),
    Row(
        "an unreachable registry, before anything is pushed",
        "error: reading the tags of 127.0.0.1:9/nowhere/antrea-agent-ubuntu failed",
        1,
        lambda inputs: inputs.publish_arch("127.0.0.1:9/nowhere"),
    ),
    Row(
        "a wrong password",
        "refused the credentials (user 'antrea-ci')",
        1,
        _wrong_password,
    ),
    Row(
        "a missing per-arch tag for merge",
        "has no tag v2.7.0-amd64",
        1,
        lambda inputs: [
            "merge",
            *["--namespace", f"{inputs.testbed.registry}/never-pushed-{uuid.uuid4().hex[:8]}"],
            *["--tag", "v2.7.0", "--platform", "linux/amd64"],
        ],
    ),
]
# Rows shown by tests elsewhere (they need a registry of their own, or kill the engine).
ELSEWHERE = {
    "a read-only token": "test_registry_auth.py",
    "a disk that fills up during a push": "test_bad_inputs.py",
    "the engine dies mid-build, or mid-publish before its images are handed over (exported)": (
        "test_engine_loss.py"
    ),
    "the engine dies while a publish pushes (its images exported: the pushes are this process's)": (
        "test_engine_loss.py"
    ),
    "an --engine that is unreachable, of another platform, or dies mid-build": "test_engines.py",
}


def _plain(text: str) -> str:
    """The text without the boxes typer draws around usage errors, one space per gap."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _antrea_ci(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WRONG_PASSWORD": "wrong-" + uuid.uuid4().hex}
    command = [ANTREA_CI, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)


def readme_rows() -> dict[str, tuple[str, int]]:
    """README's table: what is wrong -> (what the user sees, exit code)."""
    section = README.read_text().split(TABLE_TITLE, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2].isdigit():
            rows[cells[0]] = (cells[1].strip("`"), int(cells[2]))
    return rows


def test_the_readme_table_is_the_table_tested() -> None:
    tested = {row.wrong: (row.sees, row.exit_code) for row in ROWS}
    shown = readme_rows()
    assert {wrong: shown[wrong] for wrong in tested if wrong in shown} == tested
    assert set(shown) == set(tested) | set(ELSEWHERE)


@pytest.fixture(scope="module")
def inputs(testbed: OfflineTestBed, tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    workdir = tmp_path_factory.mktemp("bad-inputs")
    return Inputs(testbed, workdir, antrea_checkout(workdir), ovs_tarball(workdir))


@pytest.mark.parametrize("row", ROWS, ids=[row.wrong for row in ROWS])
def test_a_bad_input_ends_in_one_clear_error(inputs: Inputs, row: Row) -> None:
    result = _antrea_ci(row.command(inputs))
    assert result.returncode == row.exit_code, result.stderr
    assert row.sees in _plain(result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    if row.exit_code == 1:
        assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


@contextlib.contextmanager
def _registry_on_a_full_disk(workdir: Path) -> Iterator[str]:
    """A registry whose storage is a 1 MiB tmpfs: the first layer fills it."""
    storage = workdir / "full-disk"
    storage.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(storage)], check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = workdir / "full-disk.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    registry = subprocess.Popen(
        ["docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/v2/"]).returncode:
            assert time.monotonic() < deadline, "the full-disk registry did not answer"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        registry.terminate()
        registry.wait(30)
        subprocess.run(["umount", str(storage)], check=True)


def test_a_disk_that_fills_up_during_a_push_ends_in_one_error_and_no_tag(
    inputs: Inputs,
) -> None:
    with _registry_on_a_full_disk(inputs.workdir) as registry:
        namespace = f"{registry}/full"
        result = _antrea_ci(inputs.publish_arch(namespace))
        print(f"\npush to a full disk: {result.stderr.strip().splitlines()[-1:]}")
        assert result.returncode == 1, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"pushing {namespace}/" in errors[0], result.stderr
        for image in RELEASED:
            assert not exists(f"{namespace}/{IMAGE_NAMES[image]}:v2.7.0-amd64")
