"""`antrea-ci build --load` leaves the released images in the test bed's Docker daemon under
upstream's local names, for `kind load docker-image`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci.core.catalog import local_names
from tests.support.inputs import FIXTURES, antrea_checkout, ovs_tarball
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

NAMES = list(local_names().values())


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def cleanup() -> Iterator[None]:
    """Remove the three tags (and so the images) whatever the test's outcome."""
    yield
    for name in NAMES:
        docker("rmi", name)


def test_build_load_leaves_the_released_images_in_docker(
    testbed: OfflineTestBed, cleanup: None, tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).parent / "antrea-ci"),
        "build",
        "--source",
        str(antrea_checkout(tmp_path)),
        "--platform",
        "linux/amd64",
        "--load",
        "--output",
        str(tmp_path / "out"),
        "--ovs-tarball",
        str(ovs_tarball(tmp_path)),
        "--iptables-wrapper-source",
        str(FIXTURES / "iptables-wrappers-mini"),
        "--timings",
        str(tmp_path / "timings.json"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for name in NAMES:
        assert f"loaded {name} (linux/amd64)" in result.stderr
    stages = [
        stage["stage"] for stage in json.loads((tmp_path / "timings.json").read_text())["stages"]
    ]
    assert stages[-2:] == ["export", "load"]

    for name in NAMES:
        inspected = docker("image", "inspect", name)
        assert inspected.returncode == 0, inspected.stderr
        (image,) = json.loads(inspected.stdout)
        assert (image["Os"], image["Architecture"]) == ("linux", "amd64"), name
        labels = image["Config"]["Labels"] or {}
        assert labels.get("org.opencontainers.image.version"), name
