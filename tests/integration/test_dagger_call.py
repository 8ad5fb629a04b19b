"""The README's `dagger call` lines run as written with the official CLI (issue 13), the
test bed's seed images and fixtures added as constructor options."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.inputs import FIXTURES, WRAPPER_FIXTURE, antrea_checkout, ovs_tarball
from tests.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# The first call loads the module: the Python SDK's runtime is built, this project installed.
FIRST_LOAD_SECONDS = 1800


def dagger(*args: str) -> subprocess.CompletedProcess[str]:
    """The official CLI the test bed announced, in this repository (the module)."""
    cli = os.environ["_EXPERIMENTAL_DAGGER_CLI_BIN"]
    return subprocess.run(
        [cli, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=FIRST_LOAD_SECONDS,
    )


def offline_options(testbed: OfflineTestBed, source: Path, tarball: Path) -> list[str]:
    """The constructor options the offline test bed adds to the README's lines."""
    return [
        *["--source", str(source), "--ovs-tarball", str(tarball)],
        *["--iptables-wrapper-source", str(WRAPPER_FIXTURE)],
        *["--distro-image", testbed.distro_image, "--go-image", testbed.go_image],
    ]


def readme_functions() -> list[str]:
    """The functions README's `dagger call` reference table lists."""
    table = README.split("## `dagger call` reference", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z-]+)[ `]", table, re.MULTILINE)


def test_dagger_functions_lists_every_function_with_its_doc() -> None:
    listed = dagger("functions")
    assert listed.returncode == 0, listed.stderr
    rows = [line.strip().split(maxsplit=1) for line in listed.stdout.splitlines()[1:]]
    names = {row[0]: row[1] if len(row) > 1 else "" for row in rows if row}
    missing = [name for name in readme_functions() if name not in names]
    assert not missing, listed.stdout
    assert all(names[name].strip() for name in readme_functions()), listed.stdout


def test_build_agent_export_for_arm64(testbed: OfflineTestBed, tmp_path: Path) -> None:
    options = offline_options(testbed, antrea_checkout(tmp_path), ovs_tarball(tmp_path))
    path = tmp_path / "antrea-agent-arm64.tar"
    call = ["call", *options, "build", "--platform", "linux/arm64", "agent"]
    exported = dagger(*call, "export", "--path", str(path))
    assert exported.returncode == 0, exported.stderr
    with tarfile.open(path) as archive:
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
        (manifest,) = index["manifests"]
        blob = archive.extractfile(f"blobs/sha256/{manifest['digest'].split(':')[1]}")
        config_digest = json.load(blob)["config"]["digest"]  # type: ignore[arg-type]
        config = json.load(archive.extractfile(f"blobs/sha256/{config_digest.split(':')[1]}"))  # type: ignore[arg-type]
    assert (config["os"], config["architecture"]) == ("linux", "arm64")


def test_test_passes_and_names_the_failed_tests_of_a_failing_tree(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    tarball = ovs_tarball(tmp_path)
    passing = offline_options(testbed, antrea_checkout(tmp_path), tarball)
    passed = dagger("call", *passing, "test", "--platform", "linux/amd64", "summary")
    assert passed.returncode == 0, passed.stderr
    assert "passed" in passed.stdout

    failing_tree = antrea_checkout(tmp_path / "failing")
    shutil.copytree(FIXTURES / "failing-tests/pkg", failing_tree / "pkg", dirs_exist_ok=True)
    failing = offline_options(testbed, failing_tree, tarball)
    failed = dagger("call", *failing, "test", "--platform", "linux/amd64", "summary")
    assert failed.returncode != 0
    assert "TestHalfOfThreeIsWrong" in failed.stdout + failed.stderr
