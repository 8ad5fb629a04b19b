"""Reproducible images: an engine's OCI tarball made into the image any engine makes from the
same inputs (pure: files in, files out).

Two engines build the same files, but Dagger 0.21.8 writes the time of the build into every
file's mtime in the layers it made and into the config's `created` and history, so their
digests differ. Here each layer the build made is rewritten with every mtime clamped to the
source's date (SOURCE_DATE_EPOCH's rule), no atime or ctime, and a gzip stream without a name
or a time; the config's times become the source's date and its diff_ids the new layers'. The
first layers, those of the image it was made on (MadeOn, read from a registry), are that
image's blobs with that image's history entries: an engine that lost the blob it pulled
exports the same files compressed anew, or as another tar re-made from its snapshot (another
diff_id, another history entry); the registry's blob stands in for them once its files are
found to be the same.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
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


class NotAsMadeOnError(ReproducibleError):
    """An image whose first layers cannot stand for those of the image it was made on."""


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


@dataclass(frozen=True)
class MadeOn:
    """The image another image was made on, as its registry holds it: its layers, first to
    last, with their diff_ids, and its config's history (never hashed: it holds dicts)."""

    reference: str
    layers: tuple[Blob, ...]
    diff_ids: tuple[str, ...]
    history: tuple[dict[str, Any], ...] = ()

    def layer_history(self) -> list[dict[str, Any]]:
        """The history entries of its layers: its own when they name each layer once, else
        one per layer naming the layer's blob (the seed images have no history)."""
        split = _split_history(list(self.history), len(self.layers), len(self.layers))
        if split is not None:
            return [dict(entry) for entry in split[0]]
        # "created" is there to be set to the source's date, as every entry's is.
        return [{"created": "", "created_by": f"layer {layer.digest}"} for layer in self.layers]


def remade(layout: OciLayout, made_on: MadeOn) -> list[int]:
    """The positions of made_on's layers the layout holds as another tar (another diff_id);
    ReproducibleError when the layout has fewer layers than made_on."""
    diff_ids = layout.diff_ids
    if len(diff_ids) < len(made_on.layers):
        raise ReproducibleError(
            f"it has fewer layers ({len(diff_ids)}) than {made_on.reference} "
            f"({len(made_on.layers)}), which it was made on"
        )
    return [
        position
        for position, diff_id in enumerate(made_on.diff_ids)
        if diff_ids[position] != diff_id
    ]


def first_difference(ours: Blob, theirs: Blob) -> str:
    """The first path (in name order) where two layers' entries differ, with what differs
    ("" when they hold the same entries whatever their order, times and compression).
    An entry is its type, permission bits, numeric owner, size, link target, device,
    extended attributes and content; a hard link counts as a file with its target's
    content, so either name may be the one a tar stores."""
    mine, other = _entries(ours), _entries(theirs)
    for path in sorted(mine.keys() | other.keys()):
        if path not in other:
            return f"{path} only in {ours.digest}"
        if path not in mine:
            return f"{path} only in {theirs.digest}"
        if mine[path] != other[path]:
            fields = [n for n, a, b in zip(_FIELDS, mine[path], other[path], strict=True) if a != b]
            return f"{path}: other {', '.join(fields)}"
    return ""


# What _entries records of an entry, in order.
_FIELDS = ("type", "mode", "uid", "gid", "size", "link", "device", "attributes", "content")


def _entries(layer: Blob) -> dict[str, tuple[Any, ...]]:
    """The layer's entries by path (the last of a path, as extracting it leaves it)."""
    found: dict[str, tuple[Any, ...]] = {}
    with _read_layer(layer) as reading:
        for entry in reading:
            path = _path(entry.name)
            if not path:
                continue
            attributes = tuple(
                sorted(
                    (key, value)
                    for key, value in entry.pax_headers.items()
                    if key.startswith("SCHILY.xattr.")
                )
            )
            kind, size, link, content = entry.type, entry.size, entry.linkname, ""
            if entry.isreg():
                kind, content = tarfile.REGTYPE, _content_digest(reading, entry)
            elif entry.islnk() and _path(link) in found:
                target = found[_path(link)]
                kind, size, link, content = tarfile.REGTYPE, target[4], "", target[8]
            found[path] = (
                kind,
                entry.mode & 0o7777,
                entry.uid,
                entry.gid,
                size,
                link,
                (entry.devmajor, entry.devminor) if entry.ischr() or entry.isblk() else (),
                attributes,
                content,
            )
    return found


@contextmanager
def _read_layer(layer: Blob) -> Iterator[tarfile.TarFile]:
    """The layer's tar, read as a stream; ReproducibleError when it is not a (gzip) tar or
    cannot be read (or what is done with it fails to read or write)."""
    if layer.media_type not in (*GZIP_LAYERS, *UNCOMPRESSED_LAYERS):
        raise ReproducibleError(f"layer {layer.digest} is {layer.media_type}, not a (gzip) tar")
    try:
        with layer.path.open("rb") as raw:
            source = gzip.GzipFile(fileobj=raw) if layer.media_type in GZIP_LAYERS else raw
            with tarfile.open(fileobj=source, mode="r|") as reading:
                yield reading
    except (OSError, EOFError, zlib.error, tarfile.TarError) as error:
        raise ReproducibleError(f"layer {layer.digest} cannot be read: {error}") from None


def _path(name: str) -> str:
    """A tar entry's name as a path below the root ("" for the root itself)."""
    return posixpath.normpath("/" + name).lstrip("/")


def _content_digest(reading: tarfile.TarFile, entry: tarfile.TarInfo) -> str:
    """The sha256 of a regular file's content."""
    content = reading.extractfile(entry)
    digest = hashlib.sha256()
    while content is not None and (chunk := content.read(1 << 20)):
        digest.update(chunk)
    return digest.hexdigest()


def _split_history(
    history: list[dict[str, Any]], first: int, layers: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """The history entries up to that of the first layers, and the rest; None unless the
    history names (by entries not marked empty_layer) exactly that many layers."""
    if sum(1 for entry in history if not entry.get("empty_layer")) != layers:
        return None
    named = 0
    for position, entry in enumerate(history):
        if named == first:
            return history[:position], history[position:]
        if not entry.get("empty_layer"):
            named += 1
    return history, []


def reproducible(
    layout: OciLayout, epoch: int, made_on: MadeOn, workdir: Path
) -> ReproducibleImage:
    """The layout's image with its first layers as made_on's blobs, every other one
    rewritten (clamp_layer), the history of the first layers made_on's and the config's
    times set to epoch; new blobs are written under workdir. A first layer the layout holds
    as another tar (remade) is replaced once its files are found the same as made_on's,
    whose bytes must then be at their blob's path; NotAsMadeOnError when they differ, or
    when such a layer's history entry cannot be told from the others'."""
    workdir.mkdir(parents=True, exist_ok=True)
    remade_here = set(remade(layout, made_on))
    diff_ids = layout.diff_ids
    layers: list[Blob] = []
    for position, descriptor in enumerate(layout.manifest["layers"]):
        ours = layout.layer_blob(descriptor)
        if position < len(made_on.layers):
            theirs = made_on.layers[position]
            difference = first_difference(ours, theirs) if position in remade_here else ""
            if difference:
                raise NotAsMadeOnError(
                    f"its layer {position + 1} holds other files than layer {position + 1} "
                    f"of {made_on.reference}, which it was made on ({difference})"
                )
            layers.append(ours if ours.digest == theirs.digest else theirs)
            diff_ids[position] = made_on.diff_ids[position]
            continue
        layer, diff_ids[position] = clamp_layer(ours, epoch, workdir)
        layers.append(layer)
    config = dict(layout.config)
    split = _split_history(list(config.get("history", [])), len(made_on.layers), len(layers))
    if split is not None:
        config["history"] = [*made_on.layer_history(), *split[1]]
    elif remade_here:
        raise NotAsMadeOnError(
            "its history does not name each layer once: the entries of its layers made on "
            f"{made_on.reference} cannot be replaced"
        )
    config_blob = _written(workdir, OCI_CONFIG, normalized_config(config, diff_ids, epoch))
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
    scratch = workdir / f"{layer.digest.replace(':', '-')}.partial"
    compressed = _Hashing(scratch.open("wb"))
    packed = gzip.GzipFile(
        filename="", mode="wb", fileobj=compressed, compresslevel=GZIP_LEVEL, mtime=0
    )
    uncompressed = _Hashing(packed)
    try:
        with _read_layer(layer) as reading:
            with tarfile.open(
                fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT
            ) as writing:
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
