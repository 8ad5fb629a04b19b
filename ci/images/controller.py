"""The antrea-controller image: the distro image with the controller and antctl.

Like upstream's, it sets no entrypoint: manifests name the command.
"""

from __future__ import annotations

import dagger
from dagger import dag

from ci.core.platforms import Platform

CONTROLLER_COMMANDS = ["antrea-controller", "antctl"]


def image(
    platform: Platform, distro_image: str, binaries: dagger.Directory, labels: dict[str, str]
) -> dagger.Container:
    """The controller and antctl in /usr/local/bin of a plain distro image."""
    container = (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(distro_image)
        .with_user("root")  # upstream's Dockerfile says USER root
        .with_directory("/usr/local/bin", binaries, include=CONTROLLER_COMMANDS)
    )
    for name, value in labels.items():
        container = container.with_label(name, value)
    return container
