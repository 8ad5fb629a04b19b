"""Image references and tags are checked before anything builds, without an engine."""

from __future__ import annotations

import pytest

from ci.core.catalog import RELEASED, made_on_by_image
from ci.core.platforms import parse_platform
from ci.core.references import (
    ImageReferenceError,
    Repository,
    arch_tag,
    check_tag,
    content_tag,
    image_reference,
    parse_repository,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ghcr.io/antrea-io/antrea-agent-ubuntu",
            Repository("ghcr.io", "antrea-io/antrea-agent-ubuntu"),
        ),
        ("antrea/antrea-agent-ubuntu", Repository("docker.io", "antrea/antrea-agent-ubuntu")),
        ("127.0.0.1:5310/antrea/agent", Repository("127.0.0.1:5310", "antrea/agent")),
        ("localhost/agent", Repository("localhost", "agent")),
        ("ubuntu", Repository("docker.io", "library/ubuntu")),
    ],
)
def test_repositories_parse(text: str, expected: Repository) -> None:
    assert parse_repository(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Antrea/Agent",
        "ghcr.io/antrea-io/agent:v1",
        "ghcr.io/a//b",
        "ghcr.io/a@sha256:00",
        "-bad.io/x/y",
    ],
)
def test_invalid_repositories_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(ImageReferenceError) as refused:
        parse_repository(text)
    assert "invalid" in str(refused.value)


@pytest.mark.parametrize("tag", ["v2.7.0", "latest", "v2.7.0-dev-abc1234.dirty", "a" * 128, "_x"])
def test_valid_tags(tag: str) -> None:
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".v1", "-v1", "v1/2", "v1:2", "a" * 129, "v1 2"])
def test_invalid_tags_are_refused(tag: str) -> None:
    with pytest.raises(ImageReferenceError, match="invalid tag"):
        check_tag(tag)


def test_per_arch_tags_follow_upstream_suffixes() -> None:
    assert arch_tag("v2.7.0", parse_platform("linux/amd64")) == "v2.7.0-amd64"
    assert arch_tag("v2.7.0", parse_platform("linux/arm64")) == "v2.7.0-arm64"
    assert arch_tag("v2.7.0", parse_platform("linux/arm/v7")) == "v2.7.0-arm"


def test_tagged_reference() -> None:
    assert (
        Repository("ghcr.io", "antrea-io/agent").tagged("v2.7.0")
        == "ghcr.io/antrea-io/agent:v2.7.0"
    )


def test_content_tag_depends_on_every_input_and_not_on_order() -> None:
    inputs = {"ovs": "3.7.1", "platform": "linux/arm64", "distro": "sha256:aa"}
    tag = content_tag(inputs)
    assert tag.startswith("sha-") and len(tag) == 20
    assert content_tag(dict(reversed(list(inputs.items())))) == tag
    assert content_tag({**inputs, "platform": "linux/amd64"}) != tag
    assert content_tag({**inputs, "ovs": "3.7.2"}) != tag
    check_tag(tag)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("ubuntu:24.04", (Repository("docker.io", "library/ubuntu"), "24.04")),
        (
            "127.0.0.1:5310/antrea-ci/debian:bookworm",
            (Repository("127.0.0.1:5310", "antrea-ci/debian"), "bookworm"),
        ),
        (
            "ghcr.io/a/b:v1@sha256:" + "0" * 64,
            (Repository("ghcr.io", "a/b"), "sha256:" + "0" * 64),
        ),
        ("localhost:5000/base", (Repository("localhost:5000", "base"), "latest")),
    ],
)
def test_an_image_reference_names_its_repository_and_image(
    reference: str, expected: tuple[Repository, str]
) -> None:
    assert image_reference(reference) == expected


DISTRO = "registry.test/library/ubuntu@sha256:" + "d" * 64


def test_released_images_are_made_on_the_pulled_bases_or_the_distribution_image() -> None:
    pulled = [
        f"registry.test/bases/{name}:tag-{name}"
        for name in ("antrea-openvswitch", "antrea-base", "flow-aggregator-base")
    ]
    assert made_on_by_image([DISTRO, *pulled]) == {
        "agent": "registry.test/bases/antrea-base:tag-antrea-base",
        "controller": DISTRO,
        "flow_aggregator": "registry.test/bases/flow-aggregator-base:tag-flow-aggregator-base",
    }
    assert made_on_by_image([DISTRO]) == dict.fromkeys(RELEASED, DISTRO)
