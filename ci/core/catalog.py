"""The images antrea-ci builds, by their field of Images, and the names they go by (pure).

Released images keep upstream's repository names (build/images/, the publish workflow), so
manifests written for upstream's images deploy unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from ci.core.references import image_reference

# Every image of a platform, in build order: field of Images -> repository name.
IMAGE_NAMES = {
    "ovs": "antrea-openvswitch",
    "base": "antrea-base",
    "agent": "antrea-agent-ubuntu",
    "controller": "antrea-controller-ubuntu",
    "flow_aggregator": "flow-aggregator",
}
# The image of IMAGE_NAMES each is built on, if any: a build runs the five at once, and a
# stage's time counts from when the image it stands on was done (else from the plan).
BUILT_ON: dict[str, str | None] = {
    "ovs": None,
    "base": "ovs",
    "agent": "base",
    "controller": None,
    "flow_aggregator": None,
}
# The images a release publishes.
RELEASED = ("agent", "controller", "flow_aggregator")
# The OVS and base images, which publish-base pushes and later builds reuse.
BASES = ("ovs", "base")
# What the flow-aggregator image is made on (the distribution image with CA certificates),
# which publish-base pushes too: on a new runner it spares an apt run in the target platform.
FLOW_AGGREGATOR_BASE = "flow-aggregator-base"


def local_name(image: str) -> str:
    """The name upstream's make targets leave an image under in the local Docker daemon,
    e.g. antrea/antrea-agent-ubuntu:latest (`image` is a repository name of IMAGE_NAMES)."""
    return f"antrea/{image}:latest"


def local_names() -> dict[str, str]:
    """The released images `build --load` puts into Docker: field of Images -> local name."""
    return {name: local_name(IMAGE_NAMES[name]) for name in RELEASED}


def made_on_by_image(made_on: Sequence[str]) -> dict[str, str]:
    """Which image of made_on (the distribution image first, then the bases when they were
    pulled) each released image was made on: the agent on the base image and the
    flow-aggregator on its base when pulled, else (and the controller) on the distribution
    image, whose layers come first in every one of them."""
    if not made_on:
        raise ValueError("made_on names no image: the distribution image comes first")
    distro, *pulled = made_on
    by_name = {
        image_reference(reference)[0].path.rsplit("/", 1)[-1]: reference for reference in pulled
    }
    return {
        "agent": by_name.get(IMAGE_NAMES["base"], distro),
        "controller": distro,
        "flow_aggregator": by_name.get(FLOW_AGGREGATOR_BASE, distro),
    }
