"""The base image: the OVS image plus CNI plugins, the iptables wrapper and network tools."""

from __future__ import annotations

import shlex

import dagger

from ci.core.versions import SuricataChoice
from ci.images.apt import apt_install, apt_run, install_command

TOOLS = ("ipset", "jq", "inotify-tools", "nftables")
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
    container = (
        ovs_image.with_(apt_install(*TOOLS))
        .with_directory(CNI_BIN_DIR, cni_plugins)
        .with_file("/iptables-wrapper", iptables_wrapper.file("iptables-wrapper"))
        .with_file(
            "/iptables-wrapper-installer.sh",
            iptables_wrapper.file("iptables-wrapper-installer.sh"),
            permissions=0o755,
        )
        .with_exec(["/iptables-wrapper-installer.sh"])
    )
    # Suricata with its recommends, as upstream's `apt-get install -y suricata`; the PPA's
    # helpers removed after, as upstream's.
    if suricata.source.startswith("ppa:"):
        helpers = "gpg-agent software-properties-common"
        container = container.with_(
            apt_run(
                f"apt-get update -q && {install_command(*helpers.split())}"
                f" && add-apt-repository -y {shlex.quote(suricata.source)}"
                " && apt-get update -q && apt-get install -y -q suricata"
                f" && apt-get remove -y -q {helpers} && apt-get autoremove -y -q"
            )
        )
    elif suricata.source:
        sources = f"deb http://deb.debian.org/debian {suricata.source} main\n"
        container = container.with_new_file(
            f"/etc/apt/sources.list.d/{suricata.source}.list", sources
        ).with_(
            apt_run(f"apt-get update -q && apt-get install -y -q -t {suricata.source} suricata")
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
