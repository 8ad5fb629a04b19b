"""Build-Depends as the OVS recipe reads them, without an engine."""

from __future__ import annotations

from pathlib import Path

from ci.core.debian import OsRelease, build_depends, control_from_template, parse_os_release

FIXTURE_CONTROL = control_from_template(
    (Path(__file__).parents[1] / "fixtures/ovs-mini/debian/control.in").read_text()
)

CONTROL = """\
Source: openvswitch
Build-Depends: autoconf (>= 2.64), automake (>= 1.10) | automake1.10,
 debhelper-compat (= 13), dh-exec,
 libdpdk-dev (>= 22.11) [amd64 arm64 i386 ppc64el] <!nodpdk>,
 libunbound-dev, python3-sphinx <!nodoc>, openssl <!nocheck>,
 libnuma-dev [!armhf]
Build-Depends-Arch: libssl-dev
Standards-Version: 4.6.2

Package: openvswitch-common
Build-Depends: not-a-source-field
"""


def test_dpdk_and_inactive_profiles_are_left_out() -> None:
    assert build_depends(CONTROL, "amd64") == [
        "autoconf (>= 2.64)",
        "automake (>= 1.10) | automake1.10",
        "debhelper-compat (= 13)",
        "dh-exec",
        "libunbound-dev",
        "python3-sphinx",
        "libnuma-dev",
        "libssl-dev",
    ]


def test_architecture_restrictions_follow_the_target() -> None:
    assert "libnuma-dev" not in build_depends(CONTROL, "armhf")
    assert "libnuma-dev" in build_depends(CONTROL, "arm64")


def test_dpdk_is_kept_only_when_not_dropped_and_profile_allows() -> None:
    relations = build_depends(CONTROL, "amd64", profiles=frozenset(), drop=())
    assert "libdpdk-dev (>= 22.11)" in relations
    assert "openssl" in relations


def test_fixture_packaging_needs_only_a_compiler() -> None:
    for arch in ("amd64", "arm64", "armhf"):
        assert build_depends(FIXTURE_CONTROL, arch) == ["gcc", "make"]


def test_the_distribution_id_is_read_from_os_release() -> None:
    ubuntu = 'PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'
    assert parse_os_release(ubuntu).id == "ubuntu"
    debian = 'ID="debian"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
    assert parse_os_release(debian) == OsRelease("debian", "bookworm")
    assert parse_os_release("NAME=nothing\n") == OsRelease("", "")


RELEASE_CONTROL_IN = """Source: openvswitch
Build-Depends:
 autoconf (>= 2.64),
# DPDK_NETDEV  libdpdk-dev (>= 25.11) [amd64 i386 ppc64el arm64],
 libnuma-dev [amd64 i386 ppc64el arm64],
 libssl-dev,

Package: openvswitch-switch
Architecture: linux-any

# DPDK_NETDEV Package: openvswitch-switch-dpdk
# DPDK_NETDEV Architecture: amd64 arm64 i386 ppc64el
# DPDK_NETDEV Depends:
# DPDK_NETDEV  dpdk,

Package: openvswitch-test
Architecture: all
"""


def test_control_from_an_ovs_release_template_leaves_dpdk_out() -> None:
    control = control_from_template(RELEASE_CONTROL_IN)
    assert "DPDK_NETDEV" not in control and "dpdk" not in control
    assert (
        "Package: openvswitch-switch\nArchitecture: linux-any\n\n\nPackage: openvswitch-test"
        in (control)
    )
    assert build_depends(control, "amd64") == ["autoconf (>= 2.64)", "libnuma-dev", "libssl-dev"]
    assert build_depends(control, "armhf") == ["autoconf (>= 2.64)", "libssl-dev"]
