"""The OVS image: Open vSwitch .debs built from the release tarball, in the target platform."""

from __future__ import annotations

import shlex

import dagger
from dagger import dag

from ci.core.debian import OVS_BUILD_PROFILES, build_depends, control_from_template
from ci.core.errors import first_line
from ci.core.platforms import Platform
from ci.core.versions import Pinned, ovs_package_version
from ci.images.apt import apt_install, apt_run, install_command

# The packages of the OVS build that the image installs, when the build produced them.
KEPT_PACKAGES = (
    "openvswitch-common",
    "openvswitch-switch",
    "python3-openvswitch",
    "openvswitch-ipsec",
)
REQUIRED_PACKAGES = ("openvswitch-common", "openvswitch-switch")
RUNTIME_PACKAGES = ("iptables", "nftables", "logrotate", "libstrongswan-standard-plugins")
# Antrea's strongSwan logging settings (build/images/ovs/ of the tree), merged like upstream.
CHARON_LOGGING = "charon-logging.conf"
CHARON_LOGGING_MOUNT = f"/tmp/antrea-ovs/{CHARON_LOGGING}"
SOURCE_DIR = "/build/openvswitch"
DEBS_DIR = "/debs"


class OvsTarballError(ValueError):
    """An OVS tarball that is not an Open vSwitch release with Debian packaging."""


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


async def packaging(source: dagger.Directory, tarball_file: str) -> tuple[dagger.Directory, str]:
    """The source with the debian/control to build from, and that control's text.

    A release tarball ships debian/control.in only: control is written from it without
    DPDK, as OVS's Makefile and upstream Antrea's OVS Dockerfile do.
    """
    try:
        debian_dir = set(await source.entries()) & {"debian", "debian/"}
    except dagger.ExecError as error:
        reason = first_line(error.stderr, f"exit code {error.exit_code}")
        raise OvsTarballError(f"cannot unpack the OVS tarball {tarball_file}: {reason}") from None
    entries = set(await source.directory("debian").entries()) if debian_dir else set()
    if "control.in" in entries:
        template = await source.file("debian/control.in").contents()
        control = control_from_template(template)
        return source.with_new_file("debian/control", control), control
    if "control" in entries:
        return source, await source.file("debian/control").contents()
    raise OvsTarballError(
        f"the OVS tarball {tarball_file} has no Debian packaging (debian/control.in or "
        "debian/control): is it an Open vSwitch release tarball?"
    )


async def check_version(source: dagger.Directory, tarball_file: str, pinned: Pinned) -> None:
    """Refuse a tarball whose OVS version (debian/changelog) is not the one pinned."""
    found = ovs_package_version(await source.file("debian/changelog").contents())
    if found != pinned.value:
        raise OvsTarballError(
            f"the OVS tarball {tarball_file} is Open vSwitch {found or 'of no known version'}, "
            f"but the Antrea tree pins {pinned.value} ({pinned.origin}): use the pinned "
            "release, or allow the mismatch explicitly (--allow-ovs-version-mismatch)"
        )


async def debs(
    platform: Platform,
    distro_image: str,
    source: dagger.Directory,
    tarball_file: str,
    pinned: Pinned | None,
) -> dagger.Directory:
    """Build the OVS Debian packages in the target platform (emulated when not native).

    Unless pinned is None, the tarball must be of the pinned OVS version.
    """
    source, control = await packaging(source, tarball_file)
    if pinned:
        await check_version(source, tarball_file, pinned)
    relations = build_depends(control, platform.facts.debian)
    profiles = " ".join(sorted(OVS_BUILD_PROFILES))
    keep = " ".join(f"../{name}_*.deb" for name in KEPT_PACKAGES)
    failed = shlex.quote(
        f"antrea-ci: building the OVS .debs of {tarball_file} for {platform} failed "
        "(stage: fakeroot debian/rules binary; its output is above)"
    )
    build = " && ".join(
        [
            f'export DEB_BUILD_OPTIONS="parallel=$(nproc) {profiles}"',
            f"export DEB_BUILD_PROFILES={shlex.quote(profiles)}",
            f"{{ fakeroot debian/rules binary || {{ echo {failed} >&2; exit 1; }}; }}",
            f"mkdir -p {DEBS_DIR}",
            f'for deb in {keep}; do [ ! -e "$deb" ] || cp "$deb" {DEBS_DIR}/; done',
        ]
    )
    return (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(distro_image)
        .with_(apt_install("build-essential", "fakeroot", satisfy=relations))
        .with_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
        .with_exec(["sh", "-ec", build])
        .directory(DEBS_DIR)
    )


def image(
    platform: Platform,
    distro_image: str,
    packages: dagger.Directory,
    charon_logging: dagger.File | None,
) -> dagger.Container:
    """The OVS runtime image: the built packages installed and held, with their tools, in
    upstream's steps: the tools, then the .debs with their dependencies, then
    `apt-mark hold '*openvswitch*'` (every package of that name apt knows, installed or not).

    As upstream's: OVS logs rotate by size too (a `#size 100M` line after `rotate`), and
    Antrea's charon logging settings, when the tree has them, go into strongSwan's.
    """
    required = " ".join(REQUIRED_PACKAGES)
    script = f"""
for name in {required}; do
    ls {DEBS_DIR}/"$name"_*.deb >/dev/null 2>&1 || {{
        echo "the OVS build produced no $name package" >&2; exit 1; }}
done
apt-get update -q
{install_command(*RUNTIME_PACKAGES)}
apt-get -f -y -q --no-install-recommends install {DEBS_DIR}/*.deb
apt-mark hold '*openvswitch*'
rotate=/etc/logrotate.d/openvswitch-switch
if [ -f "$rotate" ]; then sed -i '/rotate /a\\    #size 100M' "$rotate"; fi
charon=/etc/strongswan.d/charon-logging.conf
if [ -f {CHARON_LOGGING_MOUNT} ] && [ -f "$charon" ]; then
    sed -i '/^.*filelog.*{{/r {CHARON_LOGGING_MOUNT}' "$charon"
fi
"""
    container = (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(distro_image)
        .with_mounted_directory(DEBS_DIR, packages)
    )
    if charon_logging:
        container = container.with_mounted_file(CHARON_LOGGING_MOUNT, charon_logging)
    container = container.with_(apt_run(script)).without_mount(DEBS_DIR)
    return container.without_mount(CHARON_LOGGING_MOUNT) if charon_logging else container
