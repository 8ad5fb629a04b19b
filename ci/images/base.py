"""The base image: the OVS image plus CNI plugins, the iptables wrapper and network tools."""

from __future__ import annotations

import shlex

import dagger

from ci.core.versions import SuricataChoice
from ci.images.apt import apt_install, apt_run, install_command

TOOLS = ("ipset", "jq", "inotify-tools", "nftables")
# What upstream installs to add Suricata's PPA, and removes after.
SURICATA_HELPERS = ("gpg-agent", "software-properties-common")
CNI_BIN_DIR = "/opt/cni/bin"


def image(
    ovs_image: dagger.Container,
    cni_plugins: dagger.Directory,
    iptables_wrapper: dagger.Directory,
    suricata: SuricataChoice,
) -> dagger.Container:
    """Add the CNI plugins, install the iptables wrapper and the tools the agent uses.

    Suricata, when chosen, comes from its versioned Ubuntu PPA (as upstream's) or from a
    Debian release's backports; the build fails unless it is of the pinned version.
    """
    # The tools, and Suricata when chosen, in upstream's own sequence (one apt run): the
    # PPA's helpers installed with the tools, Suricata with its recommends, the helpers
    # removed and what they alone needed autoremoved. What the removal leaves behind is
    # upstream's too, so both images hold the same packages.
    if suricata.source:
        if suricata.source.startswith("ppa:"):
            repository = f"add-apt-repository -y {shlex.quote(suricata.source)}"
        else:
            line = f"deb http://deb.debian.org/debian {suricata.source} main"
            listing = f"/etc/apt/sources.list.d/{suricata.source}.list"
            repository = f"echo {shlex.quote(line)} > {listing}"
        target = f" -t {suricata.source}" if not suricata.source.startswith("ppa:") else ""
        tools = apt_run(
            f"apt-get update -q && {install_command(*TOOLS, *SURICATA_HELPERS)}"
            f" && {repository} && apt-get update -q"
            f" && apt-get install -y -q{target} suricata"
            f" && apt-get remove -y -q {' '.join(SURICATA_HELPERS)} && apt-get autoremove -y -q"
        )
    else:
        tools = apt_install(*TOOLS)
    container = (
        ovs_image.with_user("root")  # upstream's Dockerfile says USER root
        .with_(tools)
        .with_directory(CNI_BIN_DIR, cni_plugins)
        .with_file("/iptables-wrapper", iptables_wrapper.file("iptables-wrapper"))
        .with_file(
            "/iptables-wrapper-installer.sh",
            iptables_wrapper.file("iptables-wrapper-installer.sh"),
            permissions=0o755,
        )
        .with_exec(["/iptables-wrapper-installer.sh"])
    )
    if suricata.version:
        # "This is Suricata version 7.0.10 RELEASE": the pinned 7.0 is its prefix.
        check = (
            "suricata -V | tee /dev/stderr | grep -q "
            + shlex.quote(f"version {suricata.version}.")
            + f" || {{ echo 'antrea-ci: Suricata is not {suricata.version}' >&2; exit 1; }}"
        )
        container = container.with_exec(["sh", "-ec", check])
    return container
