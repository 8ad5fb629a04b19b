"""Content-addressed tags of the OVS and base images (pure, no engine).

A tag changes exactly when something that determines the image changes: pinned versions,
the OVS tarball, the recipes' code, the distribution image's digest, the platform. Images
pushed under it by publish-base are reused by every later build on every machine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

from ci.core.catalog import FLOW_AGGREGATOR_BASE, IMAGE_NAMES
from ci.core.platforms import Platform
from ci.core.references import content_tag
from ci.core.versions import BuildVersions

# The repositories publish-base pushes to, under the names the images have everywhere else.
OVS_IMAGE = IMAGE_NAMES["ovs"]
BASE_IMAGE = IMAGE_NAMES["base"]


def code_digest(modules: list[ModuleType]) -> str:
    """A digest of the source of the modules that make up a recipe: their files' content
    only, in any order, so that moving or renaming a module leaves the tag where it was."""
    contents = sorted(
        hashlib.sha256(Path(str(module.__file__)).read_bytes()).hexdigest() for module in modules
    )
    return hashlib.sha256("\n".join(contents).encode()).hexdigest()


def ovs_tag(
    platform: Platform,
    tarball_digest: str,
    distro_ref: str,
    recipe_digest: str,
    config_digest: str = "",
) -> str:
    """config_digest: the tree's OVS image settings (charon logging), "" when it has none."""
    return content_tag(
        {
            "image": OVS_IMAGE,
            "platform": str(platform),
            "ovs-tarball": tarball_digest,
            "distro": distro_ref,
            "recipe": recipe_digest,
            "config": config_digest,
        }
    )


def flow_aggregator_base_tag(platform: Platform, distro_ref: str, recipe_digest: str) -> str:
    """The tag of the flow-aggregator's base: the distribution image with CA certificates."""
    return content_tag(
        {
            "image": FLOW_AGGREGATOR_BASE,
            "platform": str(platform),
            "distro": distro_ref,
            "recipe": recipe_digest,
        }
    )


def base_tag(
    ovs: str,
    versions: BuildVersions,
    cni_plugin_names: tuple[str, ...],
    wrapper_digest: str,
    go_image: str,
    recipe_digest: str,
    suricata_version: str,
) -> str:
    return content_tag(
        {
            "image": BASE_IMAGE,
            "ovs": ovs,
            "cni-plugins": f"{versions.cni_plugins.value} {','.join(cni_plugin_names)}",
            "iptables-wrapper": wrapper_digest,
            "go-image": go_image,
            "recipe": recipe_digest,
            "suricata": suricata_version,
        }
    )
