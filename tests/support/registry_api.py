"""Read images back from a registry over its HTTP API (distribution v2), no engine involved."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


def _get(url: str, credentials: Credentials | None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": MANIFEST_TYPES})
    if credentials:
        token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
        return body


def split_reference(reference: str) -> tuple[str, str, str]:
    """Split HOST/REPO:TAG or HOST/REPO@DIGEST into (host, repository, tag or digest)."""
    host, _, rest = reference.partition("/")
    if "@" in rest:
        name, _, tag = rest.partition("@")
        repository = name.partition(":")[0]
    else:
        repository, _, tag = rest.rpartition(":")
    return host, repository, tag


def manifest(reference: str, credentials: Credentials | None = None) -> dict[str, Any]:
    """The manifest or index a reference points at."""
    host, repository, tag = split_reference(reference)
    document: dict[str, Any] = json.loads(
        _get(f"http://{host}/v2/{repository}/manifests/{tag}", credentials)
    )
    return document


def tag_digest(reference: str, credentials: Credentials | None = None) -> str | None:
    """The digest of the manifest REGISTRY/REPOSITORY:TAG holds; None when there is none."""
    host, repository, tag = split_reference(reference)
    try:
        document = _get(f"http://{host}/v2/{repository}/manifests/{tag}", credentials)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    return "sha256:" + hashlib.sha256(document).hexdigest()


def blob(reference: str, digest: str, credentials: Credentials | None = None) -> dict[str, Any]:
    """A JSON blob (an image config) of the repository a reference names."""
    host, repository, _ = split_reference(reference)
    document: dict[str, Any] = json.loads(
        _get(f"http://{host}/v2/{repository}/blobs/{digest}", credentials)
    )
    return document


def exists(reference: str, credentials: Credentials | None = None) -> bool:
    """Whether the registry holds a manifest for the reference."""
    try:
        manifest(reference, credentials)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise
    return True


def index_platforms(
    reference: str, credentials: Credentials | None = None
) -> set[tuple[str, str, str | None]]:
    """(os, architecture, variant) of each manifest an image index lists."""
    return {
        (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant"))
        for m in manifest(reference, credentials)["manifests"]
    }


def image_blobs(reference: str, credentials: Credentials | None = None) -> dict[str, bytes]:
    """Every manifest, config and layer (decompressed) of the image or index a reference
    names, by digest."""
    host, repository, _ = split_reference(reference)
    base = f"http://{host}/v2/{repository}"
    found: dict[str, bytes] = {}
    manifests = [reference]
    while manifests:
        document = manifest(manifests.pop(), credentials)
        found[f"manifest {len(found)}"] = json.dumps(document).encode()
        manifests += [
            f"{host}/{repository}@{entry['digest']}" for entry in document.get("manifests", [])
        ]
        for descriptor in [document.get("config"), *document.get("layers", [])]:
            if descriptor:
                content = _get(f"{base}/blobs/{descriptor['digest']}", credentials)
                if descriptor["mediaType"].endswith("gzip"):
                    content = gzip.decompress(content)
                found[descriptor["digest"]] = content
    return found


def pulled(reference: str, destination: Path, credentials: Credentials | None = None) -> Path:
    """The one-platform image a reference names, as an OCI-layout tarball at destination
    for ci/core/parity.py's read_image (its manifest re-serialised, its config and layers
    as image_blobs reads them: layers decompressed, under their registry digests)."""
    document = manifest(reference, credentials)
    blobs = image_blobs(reference, credentials)
    raw = json.dumps(document).encode()
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    entry = {"mediaType": document["mediaType"], "digest": digest, "size": len(raw)}
    index = json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()
    with tarfile.open(destination, "w") as archive:
        _add(archive, "index.json", index)
        _add(archive, f"blobs/sha256/{digest.removeprefix('sha256:')}", raw)
        for descriptor in [document["config"], *document["layers"]]:
            name = f"blobs/sha256/{descriptor['digest'].removeprefix('sha256:')}"
            _add(archive, name, blobs[descriptor["digest"]])
    return destination


def _add(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(content)
    archive.addfile(member, io.BytesIO(content))
