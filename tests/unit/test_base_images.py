"""Content-addressed tags of the OVS and base images, without an engine."""

from __future__ import annotations

from dataclasses import replace

import ci.debian
import ci.images.ovs
from ci.base_images import base_tag, code_digest, ovs_tag
from ci.platforms import parse_platform
from ci.versions import Pinned, pins, tree_versions

ARM64 = parse_platform("linux/arm64")


def test_ovs_tag_changes_with_each_input() -> None:
    recipe = code_digest([ci.images.ovs, ci.debian])
    tag = ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe)
    assert tag == ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe)
    assert tag != ovs_tag(
        parse_platform("linux/amd64"), "sha256:tarball", "debian@sha256:aa", recipe
    )
    assert tag != ovs_tag(ARM64, "sha256:other", "debian@sha256:aa", recipe)
    assert tag != ovs_tag(ARM64, "sha256:tarball", "debian@sha256:bb", recipe)
    assert tag != ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", code_digest([ci.debian]))


def test_base_tag_follows_the_ovs_tag_and_its_own_inputs() -> None:
    versions = tree_versions({}, pins())
    names = pins().cni_plugin_names

    def tag(ovs: str = "sha-1", wrapper: str = "sha256:wrapper", suricata: str = "") -> str:
        return base_tag(ovs, versions, names, wrapper, "golang:1.26.8", "recipe", suricata)

    assert tag() == tag()
    assert tag() != tag(ovs="sha-2")
    assert tag() != tag(wrapper="sha256:other")
    assert tag() != tag(suricata="7.0")
    assert tag(suricata="7.0") != tag(suricata="8.0")
    other_cni = replace(versions, cni_plugins=Pinned("v1.9.0", "build/images/deps"))
    assert tag() != base_tag(
        "sha-1", other_cni, names, "sha256:wrapper", "golang:1.26.8", "recipe", ""
    )


def test_ovs_tag_follows_the_trees_ovs_settings() -> None:
    recipe = code_digest([ci.images.ovs, ci.debian])
    plain = ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe)
    assert plain != ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe, "sha256:conf")


def test_code_digest_is_independent_of_module_order() -> None:
    assert code_digest([ci.images.ovs, ci.debian]) == code_digest([ci.debian, ci.images.ovs])
