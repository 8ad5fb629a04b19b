"""The flow-aggregator image: the distro image with CA certificates, the aggregator, antctl."""

from __future__ import annotations

import dagger
from dagger import dag

from ci.core.platforms import Platform
from ci.images.apt import apt_install

FLOW_AGGREGATOR = "flow-aggregator"
FLOW_AGGREGATOR_COMMANDS = [FLOW_AGGREGATOR, "antctl"]


def base(platform: Platform, distro_image: str) -> dagger.Container:
    """What the image is made on: the distribution image with CA certificates."""
    return (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(distro_image)
        .with_(apt_install("ca-certificates"))
    )


def image(
    base_image: dagger.Container, binaries: dagger.Directory, labels: dict[str, str]
) -> dagger.Container:
    """/flow-aggregator as the entrypoint and antctl in /usr/local/bin, as upstream lays them."""
    container = (
        base_image.with_file(f"/{FLOW_AGGREGATOR}", binaries.file(FLOW_AGGREGATOR))
        .with_directory("/usr/local/bin", binaries, include=["antctl"])
        .with_entrypoint([f"/{FLOW_AGGREGATOR}"])
    )
    for name, value in labels.items():
        container = container.with_label(name, value)
    return container
