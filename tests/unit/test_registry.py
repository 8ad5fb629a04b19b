"""The pure parts of the registry API client: URLs, auth challenges, index documents."""

from __future__ import annotations

import json

import pytest

from ci.core.platforms import parse_platform
from ci.release.registry import (
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    base_url,
    digest_of,
    index_document,
    loopback_routes,
    parse_challenge,
    platform_of,
)


@pytest.mark.parametrize(
    ("registry", "url"),
    [
        ("127.0.0.1:5310", "http://127.0.0.1:5310"),
        ("localhost:5000", "http://localhost:5000"),
        ("localhost", "http://localhost"),
        ("ghcr.io", "https://ghcr.io"),
        ("docker.io", "https://registry-1.docker.io"),
        ("127.example.com", "https://127.example.com"),
    ],
)
def test_loopback_registries_speak_plain_http_and_others_https(registry: str, url: str) -> None:
    assert base_url(registry) == url


def test_a_bearer_challenge_gives_the_token_realm_service_and_scope() -> None:
    header = (
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",'
        'scope="repository:antrea-io/antrea-agent:pull"'
    )
    scheme, params = parse_challenge(header)
    assert scheme == "bearer"
    assert params == {
        "realm": "https://ghcr.io/token",
        "service": "ghcr.io",
        "scope": "repository:antrea-io/antrea-agent:pull",
    }
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})


def test_the_index_lists_each_platform_once_in_platform_order() -> None:
    entries = [
        Descriptor(OCI_MANIFEST, "sha256:" + "b" * 64, 500, parse_platform("linux/arm/v7")),
        Descriptor(OCI_MANIFEST, "sha256:" + "a" * 64, 400, parse_platform("linux/amd64")),
    ]
    document = index_document(entries)
    index = json.loads(document)
    assert index["mediaType"] == OCI_INDEX and index["schemaVersion"] == 2
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm", "os": "linux", "variant": "v7"},
    ]
    assert [m["digest"] for m in index["manifests"]] == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    assert index_document(list(reversed(entries))) == document
    assert digest_of(document).startswith("sha256:") and len(digest_of(document)) == 71


def test_platforms_are_read_from_index_entries_and_image_configs() -> None:
    entry = {"platform": {"os": "linux", "architecture": "arm", "variant": "v7"}}
    config = {"os": "linux", "architecture": "arm64", "rootfs": {}}
    assert platform_of(entry) == parse_platform("linux/arm/v7")
    assert platform_of(config) == parse_platform("linux/arm64")


def test_loopback_registries_are_reached_through_their_tunnels() -> None:
    routes = loopback_routes(["http://3o7v2lmhd9b6a:5310", "http://kq1m0c5v3r8jc:5311/"])
    assert routes == {
        "127.0.0.1:5310": "http://3o7v2lmhd9b6a:5310",
        "localhost:5310": "http://3o7v2lmhd9b6a:5310",
        "127.0.0.1:5311": "http://kq1m0c5v3r8jc:5311",
        "localhost:5311": "http://kq1m0c5v3r8jc:5311",
    }
    assert loopback_routes([]) == {}


def test_a_tunnel_endpoint_without_a_port_is_refused() -> None:
    with pytest.raises(ValueError, match="without a port"):
        loopback_routes(["http://3o7v2lmhd9b6a"])
