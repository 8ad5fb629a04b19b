"""Antrea v2.7.0 itself (../shared/offline), the slice a CI run affords (issue 15): its
version as a tree without .git, and the unit tests of two small packages on linux/amd64
with the race detector and on emulated linux/arm64 (compiled natively). The whole tree's
builds and tests are in the benchmarks (`python -m benchmarks.run --source <tree>`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagger import dag

from ci.core.versions import Pinned
from ci.images.source import check_tree, load_source
from ci.main import Antrea
from tests.support.inputs import real_antrea
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

PACKAGES = ["./pkg/util/ip", "./pkg/util/sets"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_antrea(tmp_path_factory.mktemp("real-antrea"))


def antrea(engine: OfflineTestBed, tree: Path) -> Antrea:
    return Antrea(source=dag.host().directory(str(tree)), go_image=engine.go_image)


async def test_a_tree_without_git_is_versioned_as_antrea_prints_it(
    engine: OfflineTestBed, tree: Path
) -> None:
    source = await load_source(await check_tree(dag.host().directory(str(tree))), "unused")
    # Antrea's pkg/version prints VERSION-unknown when GitSHA is empty.
    assert source.version.full == "v2.7.0-unknown"
    assert source.module_path == "antrea.io/antrea/v2"
    assert source.versions.ovs == Pinned("3.7.1", "build/images/deps/ovs-version")


@pytest.mark.parametrize(("platform", "race"), [("linux/amd64", "on"), ("linux/arm64", "auto")])
async def test_unit_tests_of_the_real_tree_pass(
    engine: OfflineTestBed, tree: Path, platform: str, race: str
) -> None:
    outcome = await antrea(engine, tree).test_report(platform, PACKAGES, race=race)
    print(f"\n{platform}: {outcome.summary} (compiled on {outcome.compiled_on})")
    assert outcome.failed == 0 and not outcome.failed_packages, outcome.failures()
    assert outcome.passed > 10
    assert outcome.race == (race == "on")
    assert outcome.compiled_on == "linux/amd64"
