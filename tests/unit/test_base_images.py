"""Content-addressed tags of the OVS and base images, without an engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import ModuleType

import ci.core.debian
import ci.images.ovs
from ci.core.base_tags import base_tag, code_digest, ovs_tag
from ci.core.platforms import parse_platform
from ci.core.versions import Pinned, pins, tree_versions

ARM64 = parse_platform("linux/arm64")


def test_ovs_tag_changes_with_each_input() -> None:
    recipe = code_digest([ci.images.ovs, ci.core.debian])
    tag = ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe)
    assert tag == ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe)
    assert tag != ovs_tag(
        parse_platform("linux/amd64"), "sha256:tarball", "debian@sha256:aa", recipe
    )
    assert tag != ovs_tag(ARM64, "sha256:other", "debian@sha256:aa", recipe)
    assert tag != ovs_tag(ARM64, "sha256:tarball", "debian@sha256:bb", recipe)
    assert tag != ovs_tag(
        ARM64, "sha256:tarball", "debian@sha256:aa", code_digest([ci.core.debian])
    )


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
    recipe = code_digest([ci.images.ovs, ci.core.debian])
    plain = ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe)
    assert plain != ovs_tag(ARM64, "sha256:tarball", "debian@sha256:aa", recipe, "sha256:conf")


def test_code_digest_is_independent_of_module_order() -> None:
    assert code_digest([ci.images.ovs, ci.core.debian]) == code_digest(
        [ci.core.debian, ci.images.ovs]
    )


def test_code_digest_reads_the_modules_content_not_their_names_or_paths(
    tmp_path: Path,
) -> None:
    """A recipe moved to another package (issue 27) keeps its base tags."""
    moved = tmp_path / "elsewhere" / "renamed_ovs.py"
    moved.parent.mkdir()
    moved.write_bytes(Path(str(ci.images.ovs.__file__)).read_bytes())
    stand_in = ModuleType("elsewhere.renamed_ovs")
    stand_in.__file__ = str(moved)
    assert code_digest([stand_in, ci.core.debian]) == code_digest([ci.images.ovs, ci.core.debian])
    moved.write_bytes(moved.read_bytes() + b"\n# one more line\n")
    assert code_digest([stand_in, ci.core.debian]) != code_digest([ci.images.ovs, ci.core.debian])
