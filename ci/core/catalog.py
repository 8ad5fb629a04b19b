"""The images antrea-ci builds, by their field of Images, and the names they go by (pure).

Released images keep upstream's repository names (build/images/, the publish workflow), so
manifests written for upstream's images deploy unchanged.
"""

from __future__ import annotations

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
