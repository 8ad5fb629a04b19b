"""Content-addressed tags of the OVS and base images, without an engine."""

from __future__ import annotations

import ci.debian
import ci.images.ovs
from ci.base_images import base_tag, code_digest, ovs_tag
from ci.platforms import parse_platform
from ci.versions import pins

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
    tag = base_tag("sha-1", pins(), "sha256:wrapper", "golang:1.26.8", "recipe", suricata=False)
    assert tag != base_tag(
        "sha-2", pins(), "sha256:wrapper", "golang:1.26.8", "recipe", suricata=False
    )
    assert tag != base_tag(
        "sha-1", pins(), "sha256:other", "golang:1.26.8", "recipe", suricata=False
    )
    assert tag != base_tag(
        "sha-1", pins(), "sha256:wrapper", "golang:1.26.8", "recipe", suricata=True
    )


def test_code_digest_is_independent_of_module_order() -> None:
    assert code_digest([ci.images.ovs, ci.debian]) == code_digest([ci.debian, ci.images.ovs])
