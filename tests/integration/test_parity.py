"""The released images hold what upstream's Dockerfiles put in them (issue 12).

Expected contents come from tests/support/upstream.py, written from upstream's Dockerfiles.
"""

from __future__ import annotations

import pytest

from ci.images.builder import Images
from tests.support.inputs import FIXTURES, antrea_checkout, fixture_antrea, ovs_tarball
from tests.support.testbed import OfflineTestBed
from tests.support.upstream import AGENT, CONTROLLER, FLOW_AGGREGATOR, check_image

pytestmark = pytest.mark.engine

TREE_SCRIPTS = frozenset(
    path.name for path in (FIXTURES / "antrea-mini/build/images/scripts").iterdir()
)


@pytest.fixture(scope="module")
async def images(engine: OfflineTestBed, tmp_path_factory: pytest.TempPathFactory) -> Images:
    workdir = tmp_path_factory.mktemp("parity")
    antrea = fixture_antrea(engine, antrea_checkout(workdir), ovs_tarball(workdir))
    built: Images = await antrea.build("linux/amd64")
    return built


async def test_the_agent_is_upstreams(images: Images) -> None:
    await check_image(images.agent, AGENT, AGENT.local_bin | TREE_SCRIPTS)


async def test_the_controller_is_upstreams(images: Images) -> None:
    await check_image(images.controller, CONTROLLER, CONTROLLER.local_bin)


async def test_the_flow_aggregator_is_upstreams(images: Images) -> None:
    await check_image(images.flow_aggregator, FLOW_AGGREGATOR, FLOW_AGGREGATOR.local_bin)
