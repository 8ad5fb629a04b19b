"""OCI image labels (pure, no engine)."""

from __future__ import annotations

from ci.core.versions import AntreaVersion

# The labels upstream's Dockerfiles set (LABEL maintainer, LABEL description), kept so that
# tools reading them see the same images.
MAINTAINER = "Antrea <projectantrea-dev@googlegroups.com>"
DESCRIPTIONS = {
    "antrea-agent": "The Docker image to deploy the antrea-agent.",
    "antrea-controller": "The Docker image to deploy the antrea-controller.",
    "flow-aggregator": "The docker image for the flow aggregator",
}


def oci_labels(title: str, source_url: str, version: AntreaVersion) -> dict[str, str]:
    """The org.opencontainers.image.* labels of an Antrea image, and upstream's own."""
    labels = {
        "maintainer": MAINTAINER,
        **({"description": DESCRIPTIONS[title]} if title in DESCRIPTIONS else {}),
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.source": source_url,
        "org.opencontainers.image.version": version.full,
        "org.opencontainers.image.vendor": "Antrea",
    }
    if version.git_sha:
        labels["org.opencontainers.image.revision"] = version.git_sha
    return labels
