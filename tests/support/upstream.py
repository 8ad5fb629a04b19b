"""What upstream's Dockerfiles (Antrea v2.7.0) put in each image, written from them by hand.

The parity tests compare the images antrea-ci builds with this, never with its own output.
Sources: build/images/ovs/Dockerfile, build/images/base/Dockerfile,
build/images/Dockerfile.build.agent.ubuntu, build/images/Dockerfile.build.controller.ubuntu,
build/images/flow-aggregator/Dockerfile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagger


@dataclass(frozen=True)
class ExpectedImage:
    """What one image holds and how it runs."""

    # /usr/local/bin: exactly these (the agent's also holds the tree's build/images/scripts/*).
    local_bin: frozenset[str]
    # Other paths that must be files in the image.
    files: frozenset[str] = frozenset()
    # /opt/cni/bin: exactly these, when set.
    cni_bin: frozenset[str] | None = None
    # Packages installed; held ones also `apt-mark hold`.
    packages: frozenset[str] = frozenset()
    held: frozenset[str] = frozenset()
    entrypoint: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


# Every Dockerfile runs as root (USER root, or no USER): the image config's user is empty
# or root.
ROOT_USERS = ("", "root", "0")


MAINTAINER = "Antrea <projectantrea-dev@googlegroups.com>"

# ovs/Dockerfile stage 2: iptables nftables logrotate libstrongswan-standard-plugins, the
# openvswitch debs, `apt-mark hold *openvswitch*`; base/Dockerfile: ipset jq inotify-tools
# nftables, suricata (Ubuntu's PPA; Debian's backports on the test bed), the iptables
# wrapper installed, the CNI
# plugins host-local loopback portmap bandwidth in /opt/cni/bin; the agent's Dockerfile
# copies build/images/scripts/* and four binaries to /usr/local/bin.
AGENT = ExpectedImage(
    local_bin=frozenset({"antrea-agent", "antrea-cni", "antctl", "antrea-sysctl-init"}),
    # base/Dockerfile copies iptables-wrapper to / and runs its installer, which moves it
    # into /usr/sbin and points the iptables commands at it.
    files=frozenset({"/usr/sbin/iptables-wrapper"}),
    cni_bin=frozenset({"host-local", "loopback", "portmap", "bandwidth"}),
    packages=frozenset(
        {
            "openvswitch-common",
            "openvswitch-switch",
            "iptables",
            "nftables",
            "logrotate",
            "libstrongswan-standard-plugins",
            "ipset",
            "jq",
            "inotify-tools",
            "suricata",
        }
    ),
    held=frozenset({"openvswitch-common", "openvswitch-switch"}),
    labels={
        "maintainer": MAINTAINER,
        "description": "The Docker image to deploy the antrea-agent.",
    },
)
# The real OVS release also yields these (ovs/Dockerfile keeps python*-openvswitch and
# openvswitch-ipsec); the fixture OVS builds only -common and -switch.
RELEASE_OVS_PACKAGES = frozenset({"python3-openvswitch", "openvswitch-ipsec"})

# Dockerfile.build.controller.ubuntu: FROM ubuntu:24.04, antctl and antrea-controller.
CONTROLLER = ExpectedImage(
    local_bin=frozenset({"antctl", "antrea-controller"}),
    labels={
        "maintainer": MAINTAINER,
        "description": "The Docker image to deploy the antrea-controller.",
    },
)

# flow-aggregator/Dockerfile: ca-certificates, /flow-aggregator, antctl, its entrypoint.
FLOW_AGGREGATOR = ExpectedImage(
    local_bin=frozenset({"antctl"}),
    files=frozenset({"/flow-aggregator"}),
    packages=frozenset({"ca-certificates"}),
    entrypoint=["/flow-aggregator"],
    labels={
        "maintainer": MAINTAINER,
        "description": "The docker image for the flow aggregator",
    },
)


async def _lines(container: dagger.Container, script: str) -> list[str]:
    return (await container.with_exec(["sh", "-c", script]).stdout()).split()


async def check_image(
    container: dagger.Container, expected: ExpectedImage, local_bin: frozenset[str]
) -> None:
    """Assert that the image holds what expected says, with local_bin in /usr/local/bin."""
    assert set(await container.directory("/usr/local/bin").entries()) == local_bin
    for path in expected.files:
        assert await _lines(container, f"test -f {path} && echo yes") == ["yes"], path
    if expected.cni_bin is not None:
        assert set(await container.directory("/opt/cni/bin").entries()) == expected.cni_bin
    if expected.packages:
        query = "dpkg-query -W -f '${Package}=${db:Status-Status}\\n' " + " ".join(
            sorted(expected.packages)
        )
        assert await _lines(container, query) == [
            f"{p}=installed" for p in sorted(expected.packages)
        ]
    if expected.held:
        assert expected.held <= set(await _lines(container, "apt-mark showhold"))
    assert await container.entrypoint() == expected.entrypoint
    assert await container.user() in ROOT_USERS
    for name, value in expected.labels.items():
        assert await container.label(name) == value, name
