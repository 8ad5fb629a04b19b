"""Reproducible images: an engine's OCI tarball made into the image any engine makes from the
same inputs (pure: files in, files out).

Two engines build the same files, but Dagger 0.21.8 writes the time of the build into every
file's mtime in the layers it made and into the config's `created` and history, so their
digests differ. Here each layer the build made is rewritten with every mtime clamped to the
source's date (SOURCE_DATE_EPOCH's rule), no atime or ctime, and a gzip stream without a name
or a time; the config's times become the source's date and its diff_ids the new layers'. The
layers the image was made on, pulled from a registry (the caller names them by diff_id), are
the registry's blobs, so the registry shares them with the images they came from: an engine
that lost the blob it pulled (restarted) exports the same files compressed anew, and the
registry's blob stands in for them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ci.core.oci_tarball import blob

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
GZIP_LAYERS = (GZIP_LAYER, "application/vnd.docker.image.rootfs.diff.tar.gzip")
UNCOMPRESSED_LAYERS = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.diff.tar",
)
# gzip's level for rewritten layers: Go's default, what the engine writes.
GZIP_LEVEL = 6
# PAX records that carry times other than the clamped mtime.
DROPPED_RECORDS = frozenset({"atime", "ctime", "mtime"})


class ReproducibleError(ValueError):
    """An image tarball that cannot be made reproducible (its layout or a layer's format)."""


@dataclass(frozen=True)
class Blob:
    """A blob to push: its descriptor's fields and where its bytes are."""

    media_type: str
    digest: str
    size: int
    path: Path

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class ReproducibleImage:
    """An image's manifest and the blobs it names, each a function of the build's inputs."""

    manifest: bytes
    config: Blob
    layers: tuple[Blob, ...]

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()

    @property
    def blobs(self) -> tuple[Blob, ...]:
        """The layers, then the config: the order a push writes them in."""
        return (*self.layers, self.config)


@dataclass(frozen=True)
class OciLayout:
    """An unpacked single-image OCI tarball (what Dagger's asTarball writes)."""

    root: Path
    manifest: dict[str, Any]
    config: dict[str, Any]

    @classmethod
    def unpack(cls, tarball: Path, into: Path) -> OciLayout:
        """The tarball unpacked into a new folder; ReproducibleError when it is not one
        image's OCI layout."""
        into.mkdir(parents=True)
        try:
            with tarfile.open(tarball) as archive:
                for entry in archive:
                    _unpack_file(archive, entry, into)
            index = _read_json(into / "index.json")
            manifests = index.get("manifests", [])
            if len(manifests) != 1:
                raise ReproducibleError(f"{tarball} holds {len(manifests)} images, not one")
            manifest = _read_json(into / blob(manifests[0]["digest"]))
            config = _read_json(into / blob(manifest["config"]["digest"]))
        except (OSError, tarfile.TarError, KeyError, TypeError) as error:
            raise ReproducibleError(f"{tarball} is not an OCI image layout: {error}") from None
        return cls(into, manifest, config)

    @property
    def layer_digests(self) -> list[str]:
        return [str(layer["digest"]) for layer in self.manifest.get("layers", [])]

    @property
    def diff_ids(self) -> list[str]:
        """The layers' diff_ids, in the manifest's order; ReproducibleError when the config
        and the manifest list other numbers of layers."""
        diff_ids = [str(d) for d in self.config.get("rootfs", {}).get("diff_ids", [])]
        if len(diff_ids) != len(self.layer_digests):
            raise ReproducibleError(
                f"the config lists {len(diff_ids)} layers, the manifest {len(self.layer_digests)}"
            )
        return diff_ids

    def layer_blob(self, descriptor: dict[str, Any]) -> Blob:
        digest = str(descriptor["digest"])
        return Blob(
            str(descriptor["mediaType"]), digest, int(descriptor["size"]), self.root / blob(digest)
        )


def _unpack_file(archive: tarfile.TarFile, entry: tarfile.TarInfo, into: Path) -> None:
    """A file of a layout written under into (directories follow from the files' paths);
    ReproducibleError for anything else a layout does not hold: a link, a device, a path
    out of into. (Python before 3.11.4, the module's runtime, has no extraction filters.)"""
    parts = Path(entry.name).parts
    if entry.isdir():
        return
    if not entry.isreg() or not parts or Path(entry.name).is_absolute() or ".." in parts:
        raise ReproducibleError(f"{entry.name!r} is not a file an OCI layout holds")
    content = archive.extractfile(entry)
    if content is None:
        raise ReproducibleError(f"{entry.name!r} cannot be read")
    target = into.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with content, target.open("wb") as written:
        shutil.copyfileobj(content, written, 1 << 20)


def created_stamp(epoch: int) -> str:
    """The RFC 3339 time an image config records for the source's date."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kept_layers(layout: OciLayout, held: Mapping[str, Blob]) -> dict[str, Blob]:
    """The layout's layers a registry holds (held: its blobs by diff_id), each as the
    registry's blob, with the layout's bytes when they are that blob."""
    kept = {}
    for diff_id, descriptor in zip(layout.diff_ids, layout.manifest["layers"], strict=True):
        if diff_id in held:
            blob = held[diff_id]
            ours = layout.layer_blob(descriptor)
            kept[diff_id] = ours if ours.digest == blob.digest else blob
    return kept


def reproducible(
    layout: OciLayout, epoch: int, kept: Mapping[str, Blob], workdir: Path
) -> ReproducibleImage:
    """The layout's image with every layer whose diff_id kept names as kept's blob (the same
    files), every other one rewritten (clamp_layer), and the config's times set to epoch;
    new blobs are written under workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    diff_ids = layout.diff_ids
    layers: list[Blob] = []
    for position, descriptor in enumerate(layout.manifest["layers"]):
        if diff_ids[position] in kept:
            layers.append(kept[diff_ids[position]])
            continue
        layer, diff_ids[position] = clamp_layer(layout.layer_blob(descriptor), epoch, workdir)
        layers.append(layer)
    config = normalized_config(layout.config, diff_ids, epoch)
    config_blob = _written(workdir, OCI_CONFIG, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_blob.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    return ReproducibleImage(_canonical(manifest), config_blob, tuple(layers))


def normalized_config(config: dict[str, Any], diff_ids: list[str], epoch: int) -> bytes:
    """The config with `created` and every history entry's time at epoch and the given
    diff_ids, as canonical JSON (sorted keys, no spaces)."""
    stamp = created_stamp(epoch)
    history = [
        {**entry, "created": stamp} if "created" in entry else dict(entry)
        for entry in config.get("history", [])
    ]
    rootfs = {**config.get("rootfs", {"type": "layers"}), "diff_ids": diff_ids}
    normalized = {**config, "created": stamp, "rootfs": rootfs}
    if "history" in config:
        normalized["history"] = history
    return _canonical(normalized)


def clamp_layer(layer: Blob, epoch: int, workdir: Path) -> tuple[Blob, str]:
    """The layer rewritten: each entry as it was (name, type, mode, owner, content, links,
    extended attributes) but for its mtime, clamped to epoch, and its atime and ctime,
    dropped; PAX format, gzip at a fixed level with no name and no time. Returns the new
    blob and its diff_id (the sha256 of the uncompressed tar)."""
    if layer.media_type not in (*GZIP_LAYERS, *UNCOMPRESSED_LAYERS):
        raise ReproducibleError(f"layer {layer.digest} is {layer.media_type}, not a (gzip) tar")
    scratch = workdir / f"{layer.digest.replace(':', '-')}.partial"
    compressed = _Hashing(scratch.open("wb"))
    try:
        with layer.path.open("rb") as raw:
            source = gzip.GzipFile(fileobj=raw) if layer.media_type in GZIP_LAYERS else raw
            packed = gzip.GzipFile(
                filename="", mode="wb", fileobj=compressed, compresslevel=GZIP_LEVEL, mtime=0
            )
            uncompressed = _Hashing(packed)
            with (
                tarfile.open(fileobj=source, mode="r|") as reading,
                tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as writing,
            ):
                for entry in reading:
                    entry.mtime = min(int(entry.mtime), epoch)
                    entry.pax_headers = {
                        key: value
                        for key, value in entry.pax_headers.items()
                        if key not in DROPPED_RECORDS
                    }
                    content = reading.extractfile(entry) if entry.isreg() else None
                    writing.addfile(entry, content)
            packed.close()
    except (OSError, EOFError, zlib.error, tarfile.TarError) as error:
        raise ReproducibleError(f"layer {layer.digest} cannot be read: {error}") from None
    finally:
        compressed.target.close()
    digest = compressed.digest
    path = workdir / digest.replace(":", "-")
    scratch.replace(path)
    return Blob(GZIP_LAYER, digest, compressed.size, path), uncompressed.digest


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what passes on to its target."""

    def __init__(self, target: _Sink) -> None:
        super().__init__()
        self.target = target
        self._sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._sha256.update(data)
        self.size += len(data)
        return self.target.write(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self._sha256.hexdigest()


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _written(workdir: Path, media_type: str, content: bytes) -> Blob:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    path = workdir / digest.replace(":", "-")
    path.write_bytes(content)
    return Blob(media_type, digest, len(content), path)


def _read_json(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    if not isinstance(document, dict):
        raise ReproducibleError(f"{path.name} is not a JSON object")
    return document
