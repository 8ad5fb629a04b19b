"""The differences between antrea-ci's images and upstream's that are explained, each with
its reason (ci.core.parity.Allowed). Anything else the parity comparison finds is a
difference to remove or to explain here; the README says why each is there."""

from __future__ import annotations

from ci.core.parity import Allowed

WHEN = "records when it was written: two installs of the same packages differ in it"
OCI_LABELS = (
    "antrea-ci adds the OCI image labels registries and scanners read (title, source, "
    "version, revision, vendor); upstream's Dockerfiles set maintainer and description only"
)

GO_VCS = (
    "upstream's Go stages build in a checkout with .git, and Go stamps its commit "
    "(vcs.revision, vcs.time, vcs.modified) and a pseudo-version into the binary's build "
    "info; antrea-ci builds from the tree without .git: the version is in the ldflags on "
    "both sides"
)
OVS_BUILD = (
    "antrea-ci builds OVS with the build dependencies its Debian packaging declares "
    "(libcap-ng among them); upstream installs a shorter fixed list of build tools, so its "
    "OVS binaries are built with fewer features"
)
# Go binaries of each image (upstream's names).
GO_BINARIES = (
    "usr/local/bin/antrea-agent",
    "usr/local/bin/antrea-cni",
    "usr/local/bin/antrea-sysctl-init",
    "usr/local/bin/antrea-controller",
    "usr/local/bin/antctl",
    "flow-aggregator",
    "usr/sbin/iptables-wrapper",
)

ALLOWED: list[Allowed] = [
    *(
        Allowed("differs", pattern, f"apt's and dpkg's own state {WHEN}")
        for pattern in (
            "var/log/apt/*",
            "var/log/dpkg.log",
            "var/log/alternatives.log",
            "var/cache/debconf/*",
            "var/lib/dpkg/status-old",
            "var/lib/dpkg/triggers/*",
            "var/cache/ldconfig/aux-cache",
        )
    ),
    Allowed(
        "differs",
        "opt/cni/bin/*",
        "upstream downloads the CNI project's release build of the pinned version (its Go, its "
        "flags); antrea-ci compiles the same version from the Go module proxy "
        "(-trimpath -s -w): same sources, other bytes",
    ),
    Allowed("config", "Labels.org.opencontainers.image.*", OCI_LABELS),
    Allowed(
        "only-theirs",
        "var/cache/apt/*",
        "Docker Hub's ubuntu and debian images delete apt's downloads after each install "
        "(/etc/apt/apt.conf.d/docker-clean); the test bed's Debian seed has no such file, so "
        "upstream's flow-aggregator Dockerfile, which removes apt's lists only, leaves them",
    ),
    *(Allowed("differs", path, GO_VCS) for path in GO_BINARIES),
    # Not the CNI plugins: both sides build the pinned version's module, whose version
    # their build information records; a difference there is another version.
    *(Allowed("version", path, GO_VCS) for path in GO_BINARIES),
    *(
        Allowed("differs", pattern, "a random ID, made when dbus is installed")
        for pattern in ("etc/machine-id", "var/lib/dbus/machine-id")
    ),
    Allowed(
        "differs",
        "var/lib/dpkg/status",
        "compared package by package (`package` differences): the text also holds each "
        "package's own control fields, which differ where the OVS packages were built with "
        "other build dependencies (Depends, Installed-Size)",
    ),
    *(
        Allowed("differs", pattern, OVS_BUILD)
        for pattern in (
            "usr/bin/ovs*",
            "usr/sbin/ovs*",
            "usr/lib/openvswitch-switch/*",
            "usr/lib/python3/dist-packages/ovs/*",
            "usr/share/man/man5/ovs-vswitchd.conf.db.5.gz",
            "var/lib/dpkg/info/*openvswitch*.md5sums",
        )
    ),
]
