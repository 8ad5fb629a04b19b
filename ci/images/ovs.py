"""The OVS image: Open vSwitch .debs built from the release tarball, in the target platform."""

from __future__ import annotations

import shlex

import dagger
from dagger import dag

from ci.debian import OVS_BUILD_PROFILES, build_depends
from ci.images.apt import apt_install, apt_run, install_command
from ci.platforms import Platform

# The packages of the OVS build that the image installs, when the build produced them.
KEPT_PACKAGES = (
    "openvswitch-common",
    "openvswitch-switch",
    "python3-openvswitch",
    "openvswitch-ipsec",
)
REQUIRED_PACKAGES = ("openvswitch-common", "openvswitch-switch")
RUNTIME_PACKAGES = ("iptables", "nftables", "logrotate")
IPSEC_PACKAGES = ("strongswan-charon", "strongswan-swanctl", "libstrongswan-standard-plugins")
SOURCE_DIR = "/build/openvswitch"
DEBS_DIR = "/debs"


def unpack(distro_image: str, tarball: dagger.File) -> dagger.Directory:
    """The source tree of an OVS release tarball, unpacked on the engine's platform."""
    return (
        dag.container()
        .from_(distro_image)
        .with_mounted_file("/tmp/openvswitch.tar.gz", tarball)
        .with_exec(["mkdir", "-p", "/src"])
        .with_exec(["tar", "-xzf", "/tmp/openvswitch.tar.gz", "-C", "/src", "--strip-components=1"])
        .directory("/src")
    )


async def debs(platform: Platform, distro_image: str, source: dagger.Directory) -> dagger.Directory:
    """Build the OVS Debian packages in the target platform (emulated when not native)."""
    control = await source.file("debian/control").contents()
    relations = build_depends(control, platform.facts.debian)
    profiles = " ".join(sorted(OVS_BUILD_PROFILES))
    keep = " ".join(f"../{name}_*.deb" for name in KEPT_PACKAGES)
    build = " && ".join(
        [
            # Upstream drops DPDK from the packaging before building.
            "sed -i '/dpdk/d' debian/control",
            f'export DEB_BUILD_OPTIONS="parallel=$(nproc) {profiles}"',
            f"export DEB_BUILD_PROFILES={shlex.quote(profiles)}",
            "fakeroot debian/rules binary",
            f"mkdir -p {DEBS_DIR}",
            f'for deb in {keep}; do [ ! -e "$deb" ] || cp "$deb" {DEBS_DIR}/; done',
        ]
    )
    return (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(distro_image)
        .with_(apt_install(platform, "build-essential", "fakeroot", satisfy=relations))
        .with_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
        .with_exec(["sh", "-ec", build])
        .directory(DEBS_DIR)
    )


def image(platform: Platform, distro_image: str, packages: dagger.Directory) -> dagger.Container:
    """The OVS runtime image: the built packages installed and held, with their tools."""
    required = " ".join(REQUIRED_PACKAGES)
    script = f"""
for name in {required}; do
    ls {DEBS_DIR}/"$name"_*.deb >/dev/null 2>&1 || {{
        echo "the OVS build produced no $name package" >&2; exit 1; }}
done
extra=""
if ls {DEBS_DIR}/openvswitch-ipsec_*.deb >/dev/null 2>&1; then
    extra="{" ".join(IPSEC_PACKAGES)}"
fi
apt-get update -q
{install_command(*RUNTIME_PACKAGES)} $extra {DEBS_DIR}/*.deb
for deb in {DEBS_DIR}/*.deb; do dpkg-deb -f "$deb" Package; done | xargs apt-mark hold
"""
    return (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(distro_image)
        .with_mounted_directory(DEBS_DIR, packages)
        .with_(apt_run(platform, script))
        .without_mount(DEBS_DIR)
    )
