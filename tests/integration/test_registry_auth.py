"""The merge's registry client against a registry that authenticates like Docker Hub and
ghcr.io: bearer tokens per scope, blob reads redirected to another host (issue 5)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid

import pytest
from dagger import dag

from ci.core.platforms import default_platforms
from ci.core.references import arch_tag, parse_repository
from ci.release.push import Credential, PublishError, push_indexes
from tests.support.testbed import OfflineTestBed
from tests.support.token_registry import TokenRegistry, token_registry

pytestmark = pytest.mark.engine

WRITER, READER = "writer", "reader"
PASSWORD = "token-" + uuid.uuid4().hex
SKOPEO = ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", f"{WRITER}:{PASSWORD}"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> TokenRegistry:  # type: ignore[misc]
    users = {WRITER: (PASSWORD, {"pull", "push"}), READER: (PASSWORD, {"pull"})}
    with token_registry(tmp_path_factory.mktemp("token-registry"), users) as running:
        yield running


def raw_manifest(reference: str) -> bytes:
    return subprocess.run(
        [*SKOPEO, f"docker://{reference}"], capture_output=True, check=True
    ).stdout


def exists(reference: str) -> bool:
    return subprocess.run([*SKOPEO, f"docker://{reference}"], capture_output=True).returncode == 0


def per_arch_images(testbed: OfflineTestBed, registry: TokenRegistry, name: str) -> dict[str, str]:
    """Each platform's image of the seed Debian index, pushed as NAME:v1-<arch> as a CI
    matrix job would; returns each tag's manifest digest."""
    digests = {}
    for platform in default_platforms():
        tag = arch_tag("v1", platform)
        arch = ["--override-arch", platform.arch]
        variant = ["--override-variant", platform.variant] if platform.variant else []
        copy = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false"]
        subprocess.run(
            [
                *copy,
                *["--dest-creds", f"{WRITER}:{PASSWORD}", *arch, *variant],
                f"docker://{testbed.distro_image}",
                f"docker://{registry.address}/{name}:{tag}",
            ],
            check=True,
        )
        manifest = raw_manifest(f"{registry.address}/{name}:{tag}")
        digests[tag] = "sha256:" + hashlib.sha256(manifest).hexdigest()
    return digests


def credential(registry: TokenRegistry, user: str, password: str) -> Credential:
    return Credential(registry.address, user, dag.set_secret(f"token-{user}", password))


async def test_merge_takes_tokens_per_scope_and_follows_blob_redirects(
    engine: OfflineTestBed, registry: TokenRegistry
) -> None:
    digests = per_arch_images(engine, registry, "merged")
    image = parse_repository(f"{registry.address}/merged")
    per_arch = {platform: arch_tag("v1", platform) for platform in default_platforms()}
    published = await push_indexes(
        [image], per_arch, ["v1"], [credential(registry, WRITER, PASSWORD)]
    )
    index = raw_manifest(f"{registry.address}/merged:v1")
    assert published == [f"{image}:v1@sha256:{hashlib.sha256(index).hexdigest()}"]
    entries = json.loads(index)["manifests"]
    assert sorted(entry["digest"] for entry in entries) == sorted(digests.values())
    # The configs were read from the blob host the registry redirected to.
    assert any("/docker/registry/v2/blobs/sha256/" in path for path in registry.redirected_reads)
    assert f"{WRITER} repository:merged:pull" in registry.tokens.issued
    assert f"{WRITER} repository:merged:pull,push" in registry.tokens.issued


async def test_a_read_only_token_is_refused_before_anything_is_pushed(
    engine: OfflineTestBed, registry: TokenRegistry
) -> None:
    per_arch_images(engine, registry, "readonly")
    image = parse_repository(f"{registry.address}/readonly")
    per_arch = {platform: arch_tag("v1", platform) for platform in default_platforms()}
    for user, password in ((READER, PASSWORD), (WRITER, "wrong-" + uuid.uuid4().hex)):
        with pytest.raises(PublishError) as refused:
            await push_indexes([image], per_arch, ["v1"], [credential(registry, user, password)])
        assert f"refused the credentials (user {user!r})" in str(refused.value)
        assert password not in str(refused.value)
    assert not exists(f"{registry.address}/readonly:v1")
