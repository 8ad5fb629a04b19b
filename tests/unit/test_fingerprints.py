"""Fingerprints: each image's changes exactly with what it is made of (no engine)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ci.core.catalog import IMAGE_NAMES
from ci.core.fingerprints import PlatformInputs, project_digest

ARM64 = PlatformInputs(
    platform="linux/arm64",
    ovs_tag="sha-1111111111111111",
    base_tag="sha-2222222222222222",
    flow_aggregator_base_tag="sha-aaaaaaaaaaaaaaaa",
    bases_from="",
    distro_ref="ubuntu@sha256:" + "3" * 64,
    go_image_ref="golang@sha256:" + "4" * 64,
    source_digest="sha256:" + "5" * 64,
    version="v2.7.0-dev",
    project="6" * 64,
)
ANTREA_IMAGES = {"agent", "controller", "flow_aggregator"}


def changed_images(changed: PlatformInputs) -> set[str]:
    before, after = ARM64.fingerprints(), changed.fingerprints()
    return {name for name in before if before[name] != after[name]}


def test_every_image_has_its_own_fingerprint() -> None:
    digests = ARM64.fingerprints()
    assert set(digests) == set(IMAGE_NAMES)
    assert len(set(digests.values())) == len(digests)
    assert digests == replace(ARM64).fingerprints()


def test_each_input_changes_the_images_made_of_it_and_only_those() -> None:
    assert changed_images(replace(ARM64, source_digest="sha256:" + "7" * 64)) == ANTREA_IMAGES
    assert changed_images(replace(ARM64, version="v2.7.0-dev-abcdef0")) == ANTREA_IMAGES
    assert changed_images(replace(ARM64, go_image_ref="golang@sha256:" + "8" * 64)) == (
        ANTREA_IMAGES
    )
    assert changed_images(replace(ARM64, ovs_tag="sha-9999999999999999")) == {"ovs"}
    assert changed_images(replace(ARM64, base_tag="sha-9999999999999999")) == {"base", "agent"}
    assert changed_images(replace(ARM64, distro_ref="ubuntu@sha256:" + "9" * 64)) == {
        "controller",
        "flow_aggregator",
    }
    assert changed_images(replace(ARM64, flow_aggregator_base_tag="sha-b")) == {"flow_aggregator"}
    assert changed_images(replace(ARM64, bases_from="ghcr.io/antrea-io")) == {
        "ovs",
        "base",
        "agent",
        "flow_aggregator",
    }
    everything = set(IMAGE_NAMES)
    assert changed_images(replace(ARM64, platform="linux/amd64")) == everything
    assert changed_images(replace(ARM64, project="a" * 64)) == everything


def test_the_project_digest_follows_the_code_and_the_build_assets(tmp_path: Path) -> None:
    package, assets = tmp_path / "ci", tmp_path / "build"
    (package / "images").mkdir(parents=True)
    assets.mkdir()
    (package / "images" / "agent.py").write_text("STEPS = 1\n")
    (assets / "versions.env").write_text("OVS_VERSION=3.7.1\n")
    first = project_digest(package, assets)
    (package / "images" / "__pycache__").mkdir()
    (package / "images" / "__pycache__" / "agent.cpython-311.pyc").write_bytes(b"\0")
    (package / "notes.txt").write_text("not code")
    assert project_digest(package, assets) == first
    (assets / "versions.env").write_text("OVS_VERSION=3.7.2\n")
    assert project_digest(package, assets) != first
    (assets / "versions.env").write_text("OVS_VERSION=3.7.1\n")
    (package / "images" / "agent.py").write_text("STEPS = 2\n")
    assert project_digest(package, assets) != first
