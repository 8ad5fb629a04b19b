"""The offline substitutions made to a copy of upstream Antrea's tree before its own route
(its build script, make targets and Dockerfiles) runs on the test bed (pure, no engine).

Upstream's Dockerfiles fetch from the internet in RUN steps; the test bed has no route to
GitHub, openvswitch.org, Ubuntu's PPAs or Docker Hub. Each substitution replaces one exact
text of one file, once, and says why; the benchmark lists them with its figures, so that a
reader sees every line of upstream's that did not run as written. Images (ubuntu:24.04,
golang:1.26) need no edit: upstream's script pulls them from `$DOCKER_REGISTRY/antrea/...`
when that is set, its own mirror path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ci.core.summary import table


@dataclass(frozen=True)
class Substitution:
    """One exact text of one file of the tree, replaced once."""

    path: str
    old: str
    new: str
    why: str


class SubstitutionError(ValueError):
    """A substitution whose text the tree does not hold exactly once (upstream changed)."""


GO_MOD_BINDS = (
    "    --mount=type=bind,source=go.sum,target=go.sum \\\n"
    "    --mount=type=bind,source=go.mod,target=go.mod \\\n"
)
GO_BUILDERS = (
    "build/images/Dockerfile.build.agent.ubuntu",
    "build/images/Dockerfile.build.controller.ubuntu",
    "build/images/flow-aggregator/Dockerfile",
)


def substitutions(files_url: str) -> list[Substitution]:
    """Every substitution, with files_url the test bed's file server as build steps reach
    it (http://ADDRESS:PORT, on the Docker bridge)."""
    third_party = [
        Substitution(
            path,
            GO_MOD_BINDS,
            GO_MOD_BINDS + "    --mount=type=bind,source=third_party,target=third_party \\\n",
            "the offline tree's go.mod replaces some modules with ./third_party: `go mod "
            "download` needs it beside go.mod",
        )
        for path in GO_BUILDERS
    ]
    return [
        Substitution(
            "build/images/ovs/Dockerfile",
            "https://www.openvswitch.org/releases/openvswitch-$OVS_VERSION.tar.gz",
            f"{files_url}/openvswitch-$OVS_VERSION.tar.gz",
            "the OVS release tarball of ../shared/offline (the same file antrea-ci builds), "
            "served on the test bed",
        ),
        Substitution(
            "build/images/base/Dockerfile",
            "https://github.com/containernetworking/plugins/releases/download/"
            "$CNI_BINARIES_VERSION/cni-plugins-linux-${pluginsArch}-$CNI_BINARIES_VERSION.tgz",
            f"{files_url}/cni-plugins-linux-${{pluginsArch}}-$CNI_BINARIES_VERSION.tgz",
            "GitHub's release download: the plugins at the pinned version, built from the Go "
            "module proxy as CNI's release script builds them, packed as its .tgz",
        ),
        Substitution(
            "build/images/base/Dockerfile",
            "git clone https://github.com/kubernetes-sigs/iptables-wrappers.git",
            f"git clone {files_url}/iptables-wrappers.git",
            "GitHub: the same repository (with the pinned commit), served over HTTP",
        ),
        Substitution(
            "build/images/base/Dockerfile",
            "add-apt-repository ppa:oisf/suricata-${SURICATA_VERSION} && apt-get update && "
            "apt-get install -y suricata",
            "echo 'deb http://deb.debian.org/debian bookworm-backports main' "
            "> /etc/apt/sources.list.d/bookworm-backports.list && apt-get update && "
            "apt-get install -y -t bookworm-backports suricata",
            "Ubuntu's PPA: the test bed's distribution is Debian 12, whose backports carry "
            "Suricata 7.0 (as antrea-ci installs it there)",
        ),
        Substitution(
            "build/images/base/build.sh",
            '    local build_context="--build-context '
            'antrea-openvswitch=docker-image://$ANTREA_OPENVSWITCH_IMAGE"\n',
            '    docker tag "$ANTREA_OPENVSWITCH_IMAGE" antrea-openvswitch\n'
            '    local build_context=""\n',
            "the test bed's Docker 20.10 (BuildKit 0.8) has no named build contexts: the OVS "
            "image is tagged with the name the Dockerfile's FROM gives instead",
        ),
        *third_party,
    ]


def apply(tree: Path, files_url: str) -> list[Substitution]:
    """Make every substitution in the tree (a copy: files are rewritten); the list made."""
    made = substitutions(files_url)
    for substitution in made:
        path = tree / substitution.path
        text = path.read_text()
        found = text.count(substitution.old)
        if found != 1:
            raise SubstitutionError(
                f"{substitution.path}: the text to substitute is there {found} times, not once "
                f"({substitution.old[:60]!r}...): upstream's route changed; update "
                "tests/support/upstream_substitutions.py"
            )
        path.write_text(text.replace(substitution.old, substitution.new))
    return made


def listed(made: list[Substitution]) -> str:
    """The substitutions as a Markdown table (file, what ran instead, why)."""
    rows = [[f"`{s.path}`", f"`{s.new.strip()[:90]}`", s.why] for s in made]
    return table(["file", "runs instead", "why"], rows)
