"""antrea-ci's images against upstream's own route (its build script, make targets and
Dockerfiles, tests/support/upstream_route.py) on the fixture, linux/amd64: file by file and
config field by config field, every difference explained (tests/support/parity_allowed.py).

The real tree's comparison is the benchmark's (`--section upstream`); this one runs in CI,
with a check that every offline substitution still matches v2.7.0's own files once.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import anyio
import pytest

from ci.core import parity
from ci.core.catalog import IMAGE_NAMES
from ci.core.platforms import parse_platform
from ci.core.timings import StageTimes, image_tarball_name
from ci.images.builder import ImageBuilder
from ci.images.local_build import LocalBuild
from tests.support.inputs import REAL_ANTREA_TARBALL, fixture_inputs, ovs_tarball
from tests.support.parity_allowed import ALLOWED
from tests.support.testbed import OfflineTestBed
from tests.support.upstream_route import (
    UpstreamRoute,
    docker_bridge_address,
    file_server,
    fixture_tree,
    wrappers_repository,
)
from tests.support.upstream_substitutions import SubstitutionError, apply, listed, substitutions

COMPARED = {
    "agent": "antrea-agent-ubuntu",
    "controller": "antrea-controller-ubuntu",
    "flow_aggregator": "flow-aggregator",
}
AMD64 = parse_platform("linux/amd64")
pytestmark = pytest.mark.engine


def buildx() -> Path:
    path = Path(os.environ.get("ANTREA_CI_BUILDX", ""))
    if not path.is_file():
        pytest.fail('buildx is not built: run `eval "$(tests/engine/tools)"`', pytrace=False)
    return path


@pytest.fixture(scope="module")
async def both_routes(
    engine: OfflineTestBed, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, parity.Comparison]:
    """The fixture built by both routes for linux/amd64; each image's comparison."""
    work = tmp_path_factory.mktemp("upstream-parity")
    repository, sha = wrappers_repository(work)
    tarball = ovs_tarball(work)
    route = UpstreamRoute(engine, work, fixture_tree(work, sha), tarball, repository, buildx())
    log = work / "upstream.log"
    with file_server(route.files, docker_bridge_address()) as url:
        route.prepare(url)
        await anyio.to_thread.run_sync(route.prepare_platform, AMD64, log)
        await anyio.to_thread.run_sync(route.build, AMD64, log)
    output = work / "antrea-ci"
    inputs = fixture_inputs(engine, route.tree, tarball, wrapper_source=route.wrapper_checkout())
    await LocalBuild(ImageBuilder(inputs), output, StageTimes("build"), say=print).run([AMD64])
    comparisons = {}
    for name, upstream_name in COMPARED.items():
        mine = parity.read_image(output / image_tarball_name(IMAGE_NAMES[name], str(AMD64)))
        theirs = parity.read_image(route.save(upstream_name, work))
        comparisons[upstream_name] = parity.compare(mine, theirs, ALLOWED)
    return comparisons


@pytest.mark.parametrize("image", sorted(COMPARED.values()))
def test_every_difference_from_upstreams_image_is_explained(
    both_routes: dict[str, parity.Comparison], image: str
) -> None:
    comparison = both_routes[image]
    report = parity.report(f"{image} linux/amd64", comparison, {})
    assert comparison.same, report
    assert comparison.explained, "the comparison found nothing at all: did it compare?"


FILES = "http://172.17.0.1:8089"


def upstream_build_files(destination: Path) -> Path:
    """build/images of the v2.7.0 tree in ../shared/offline, unpacked alone."""
    with tarfile.open(REAL_ANTREA_TARBALL) as archive:
        members = [m for m in archive.getmembers() if "/build/images/" in m.name]
        archive.extractall(destination, members=members, filter="tar")
    (tree,) = destination.iterdir()
    return tree


def test_every_substitution_matches_v2_7_0_once_and_a_second_pass_is_refused(
    tmp_path: Path,
) -> None:
    tree = upstream_build_files(tmp_path)
    made = apply(tree, FILES)
    assert len(made) == len(substitutions(FILES))
    ovs = (tree / "build/images/ovs/Dockerfile").read_text()
    assert f"{FILES}/openvswitch-$OVS_VERSION.tar.gz" in ovs and "openvswitch.org" not in ovs
    base = (tree / "build/images/base/Dockerfile").read_text()
    assert "github.com" not in base and "ppa:" not in base
    assert "--build-context" not in (tree / "build/images/base/build.sh").read_text()
    table = listed(made)
    assert table.count("\n") == len(made) + 1 and "`build/images/base/build.sh`" in table
    with pytest.raises(SubstitutionError, match=r"build/images/ovs/Dockerfile: .* 0 times"):
        apply(tree, FILES)
