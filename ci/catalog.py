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
# The images a release publishes.
RELEASED = ("agent", "controller", "flow_aggregator")
# The OVS and base images, which publish-base pushes and later builds reuse.
BASES = ("ovs", "base")
