"""A reproducible push (ci/release/reproducible.py) against the test bed's registry: a layer
of an image the released one was made on, which this process has no bytes of (the engine
exported it compressed anew), reaches a registry that cannot mount it by being fetched
from where it was made on. Two names of one registry (127.0.0.1 and localhost) are two
registries to the client: no mount between them."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import pytest

from ci.core.platforms import Platform
from ci.core.references import parse_repository
from ci.core.reproducible import GZIP_LAYER, OCI_CONFIG, OCI_MANIFEST, Blob, ReproducibleImage
from ci.release.push import registry_clients
from ci.release.registry import digest_of
from ci.release.reproducible import ReproduciblePush
from tests.support.registry_api import image_blobs
from tests.support.tarballs import tar_bytes
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

ARM64 = Platform("linux", "arm64", "")


def one_file_layer() -> tuple[bytes, bytes]:
    """A gzipped tar of one file, and the tar."""
    tar = tar_bytes({"etc/made-on": f"made on {uuid.uuid4().hex}\n".encode()})
    return gzip.compress(tar, mtime=0), tar


def written(path: Path, content: bytes, media_type: str) -> Blob:
    path.write_bytes(content)
    return Blob(media_type, digest_of(content), len(content), path)


def document(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


async def test_a_layer_made_on_is_fetched_for_a_registry_that_cannot_mount_it(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    port = testbed.registry.rsplit(":", 1)[1]
    namespace = f"made-on-{uuid.uuid4().hex[:8]}"
    source = parse_repository(f"127.0.0.1:{port}/{namespace}/base")
    target = parse_repository(f"localhost:{port}/{namespace}/agent")
    layer, tar = one_file_layer()
    config = document(
        {
            "architecture": "arm64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [digest_of(tar)]},
        }
    )
    async with registry_clients([source, target], []) as clients:
        # The image made on, in its registry.
        layer_blob, config_blob = (
            written(tmp_path / name, content, media_type)
            for name, content, media_type in (
                ("layer", layer, GZIP_LAYER),
                ("config", config, OCI_CONFIG),
            )
        )
        await clients[source.registry].put_blob(source, layer_blob)
        await clients[source.registry].put_blob(source, config_blob)
        base_manifest = document(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": config_blob.descriptor(),
                "layers": [layer_blob.descriptor()],
            }
        )
        await clients[source.registry].put_manifest(source, "v1", base_manifest, OCI_MANIFEST)

        made_on = source.tagged("v1")
        pusher = ReproduciblePush(
            clients, tmp_path / "work", 0, {ARM64: {"agent": made_on}}, lambda line: None
        )
        base = await pusher.source(ARM64, made_on)
        assert base.diff_ids == (digest_of(tar),)
        kept = base.layers[0]
        assert kept.digest == layer_blob.digest and not kept.path.exists()
        agent = ReproducibleImage(base_manifest, config_blob, (kept,))
        pushed = await pusher.push(agent, target, "v1")

    assert pushed == f"{target}:v1@{digest_of(base_manifest)}"
    assert kept.path.read_bytes() == layer
    assert image_blobs(f"{target}:v1")[layer_blob.digest] == tar
