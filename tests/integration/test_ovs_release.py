"""The real Open vSwitch release tarball builds into the images; bad tarballs are named (issue 12).

The release tarball is ../shared/offline/openvswitch-<OVS_VERSION>.tar.gz beside the clone
(CI lays shared/ there). Built natively on linux/amd64: minutes cold, cached afterwards.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import dagger
import pytest

from ci.core.versions import pins
from ci.images.builder import Images
from ci.images.ovs import OvsTarballError
from tests.support.inputs import FIXTURES, OFFLINE, antrea_checkout, fixture_antrea, ovs_tarball
from tests.support.tarballs import write_tarball
from tests.support.testbed import OfflineTestBed
from tests.support.upstream import AGENT, RELEASE_OVS_PACKAGES, check_image

pytestmark = pytest.mark.engine

RELEASE_TARBALL = OFFLINE / f"openvswitch-{pins().ovs}.tar.gz"
OVS_TOOLS = ["ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ovsdb-server"]
IPSEC_PACKAGES = ["strongswan-charon", "libstrongswan-standard-plugins"]
TREE_SCRIPTS = frozenset(
    path.name for path in (FIXTURES / "antrea-mini/build/images/scripts").iterdir()
)


@pytest.fixture(scope="module")
async def release_images(
    engine: OfflineTestBed, tmp_path_factory: pytest.TempPathFactory
) -> Images:
    """The four images for linux/amd64 with OVS from the real release tarball."""
    if not RELEASE_TARBALL.is_file():
        pytest.fail(f"{RELEASE_TARBALL} is missing: lay ../shared/offline beside the clone")
    checkout = antrea_checkout(tmp_path_factory.mktemp("ovs-release"))
    images: Images = await fixture_antrea(engine, checkout, RELEASE_TARBALL).build("linux/amd64")
    await images.agent.sync()
    return images


async def _run(container: dagger.Container, script: str) -> str:
    return await container.with_exec(["sh", "-ec", script]).stdout()


async def test_the_agent_runs_ovs_from_the_release(release_images: Images) -> None:
    agent = release_images.agent
    version = await agent.with_exec(["ovs-vswitchd", "--version"]).stdout()
    assert f"ovs-vswitchd (Open vSwitch) {pins().ovs}" in version
    found = await _run(
        agent, "for tool in " + " ".join(OVS_TOOLS) + '; do command -v "$tool"; done'
    )
    assert [Path(line).name for line in found.split()] == OVS_TOOLS
    assert (
        await _run(agent, "python3 -c 'import ovs.db.idl; print(ovs.__name__)'")
    ).strip() == "ovs"


async def test_the_agent_is_upstreams_with_every_release_package_and_ipsec(
    release_images: Images,
) -> None:
    agent = release_images.agent
    expected = replace(
        AGENT,
        packages=AGENT.packages | RELEASE_OVS_PACKAGES | set(IPSEC_PACKAGES),
        held=AGENT.held | RELEASE_OVS_PACKAGES,
    )
    await check_image(agent, expected, AGENT.local_bin | TREE_SCRIPTS)
    monitor = "test -x /usr/share/openvswitch/scripts/ovs-monitor-ipsec && echo ok"
    assert (await _run(agent, monitor)).strip() == "ok"


async def test_ovs_logs_rotate_by_size_and_charon_logs_as_the_tree_says(
    release_images: Images,
) -> None:
    agent = release_images.agent
    rotate = (await agent.file("/etc/logrotate.d/openvswitch-switch").contents()).splitlines()
    rotating = next(i for i, line in enumerate(rotate) if "rotate " in line)
    assert rotate[rotating + 1] == "    #size 100M"
    charon = await agent.file("/etc/strongswan.d/charon-logging.conf").contents()
    tree_settings = (FIXTURES / "antrea-mini/build/images/ovs/charon-logging.conf").read_text()
    filelog = charon.index("filelog {")
    assert charon.index(tree_settings) > filelog


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    return write_tarball(path, files, "w:gz")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not-gzip", "cannot unpack the OVS tarball openvswitch-not-gzip.tar.gz: "),
        ("no-debian", "the OVS tarball openvswitch-no-debian.tar.gz has no Debian packaging"),
    ],
)
async def test_a_tarball_that_is_no_ovs_release_is_refused_naming_it(
    engine: OfflineTestBed, tmp_path: Path, name: str, expected: str
) -> None:
    tarball = tmp_path / f"openvswitch-{name}.tar.gz"
    if name == "not-gzip":
        tarball.write_bytes(gzip.compress(b"")[:4] + b"this is not a tarball")
    else:
        _tarball(tarball, {"openvswitch-x/README": b"no packaging here\n"})
    checkout = antrea_checkout(tmp_path)
    with pytest.raises(OvsTarballError) as raised:
        await fixture_antrea(engine, checkout, tarball).ovs("linux/amd64")
    assert str(raised.value).startswith(expected), str(raised.value)


def _pinning_ovs(checkout: Path, version: str | None) -> Path:
    """The checkout with build/images/deps/ovs-version set to version (removed for None)."""
    pin = checkout / "build/images/deps/ovs-version"
    if version is None:
        pin.unlink()
    else:
        pin.write_text(f"{version}\n")
    return checkout


async def test_an_ovs_tarball_of_another_version_is_refused_unless_allowed(
    engine: OfflineTestBed, tmp_path: Path
) -> None:
    checkout = _pinning_ovs(antrea_checkout(tmp_path), "3.6.0")
    tarball = ovs_tarball(tmp_path)
    with pytest.raises(OvsTarballError) as raised:
        await fixture_antrea(engine, checkout, tarball).ovs("linux/amd64")
    assert str(raised.value) == (
        f"the OVS tarball {tarball.name} is Open vSwitch 3.7.1, but the Antrea tree pins "
        "3.6.0 (build/images/deps/ovs-version): use the pinned release, or allow the "
        "mismatch explicitly (--allow-ovs-version-mismatch)"
    )
    allowed = fixture_antrea(engine, checkout, tarball)
    allowed.allow_ovs_version_mismatch = True
    ovs = await allowed.ovs("linux/amd64")
    assert "3.7.1" in await ovs.with_exec(["ovs-vswitchd", "--version"]).stdout()


async def test_a_build_reports_each_version_and_where_it_came_from(
    engine: OfflineTestBed, tmp_path: Path
) -> None:
    declared = await fixture_antrea(engine, antrea_checkout(tmp_path), ovs_tarball(tmp_path)).build(
        "linux/amd64"
    )
    assert declared.versions[:4] == [
        "ovs 3.7.1 (build/images/deps/ovs-version)",
        "cni-plugins v1.9.1 (build/images/deps/cni-binaries-version)",
        "go 1.26 (build/images/deps/go-version)",
        # The test bed's distribution is Debian 12: Suricata from its backports.
        "suricata 7.0 (build/images/deps/suricata-version) from Debian's bookworm-backports",
    ]
    assert declared.versions[4].endswith("(build/images/base/Dockerfile)")
    assert declared.versions[5] == f"go-image {engine.go_image} (--go-image)"
    undeclared = _pinning_ovs(antrea_checkout(tmp_path), None)
    fallback = await fixture_antrea(engine, undeclared, ovs_tarball(tmp_path)).build("linux/amd64")
    assert fallback.versions[0] == f"ovs {pins().ovs} (build/versions.env)"
