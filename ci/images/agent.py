"""The antrea-agent image: the base image with the agent's binaries and scripts."""

from __future__ import annotations

import dagger
from dagger import dag

AGENT_COMMANDS = ["antrea-agent", "antrea-cni", "antrea-sysctl-init", "antctl"]
SCRIPTS_DIR = "build/images/scripts"


def image(
    base_image: dagger.Container,
    binaries: dagger.Directory,
    source: dagger.Directory,
    labels: dict[str, str],
) -> dagger.Container:
    """Add the four agent binaries and upstream's scripts to /usr/local/bin."""
    container = base_image.with_directory(
        "/usr/local/bin", binaries, include=AGENT_COMMANDS
    ).with_directory(
        # The scripts, not their folder's mode: /usr/local/bin stays 0755 (upstream's COPY
        # of scripts/* keeps it; a tree unpacked from a tarball may have the folder 0775).
        "/usr/local/bin",
        dag.directory().with_directory(".", source.directory(SCRIPTS_DIR)),
    )
    for name, value in labels.items():
        container = container.with_label(name, value)
    return container
