"""The base image: the OVS image plus CNI plugins, the iptables wrapper and network tools."""

from __future__ import annotations

import dagger

from ci.images.apt import apt_install

TOOLS = ("ipset", "jq", "inotify-tools", "nftables")
CNI_BIN_DIR = "/opt/cni/bin"


def image(
    ovs_image: dagger.Container,
    cni_plugins: dagger.Directory,
    iptables_wrapper: dagger.Directory,
    *,
    suricata_version: str = "",
) -> dagger.Container:
    """Add the CNI plugins, install the iptables wrapper and the tools the agent uses.

    Suricata (when a version is given) comes from its versioned Ubuntu PPA, as upstream's.
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
    if suricata_version:
        container = (
            container.with_(apt_install("software-properties-common"))
            .with_exec(["add-apt-repository", "-y", f"ppa:oisf/suricata-{suricata_version}"])
            .with_(apt_install("suricata"))
        )
    return container
