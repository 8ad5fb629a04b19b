"""Reproducible images (ci/core/reproducible.py): two builds of the same files at other times
become one image, byte for byte; what is kept, and what a layer holds, stays."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ci.core.reproducible import (
    GZIP_LAYER,
    Blob,
    MadeOn,
    OciLayout,
    ReproducibleError,
    created_stamp,
    reproducible,
)

EPOCH = 1767225600  # 2026-01-01T00:00:00Z
BUILT = EPOCH + 86400 * 340


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(
    built: int,
    atime: bool = False,
    gzip_time: int = 0,
    agent: bytes = b"\x7fELF agent",
    reverse: bool = False,
) -> bytes:
    """A layer of a directory, a file, a symlink, a hard link, a whiteout and a file with a
    capability, made at built (atime: with PAX atime and ctime records, as some writers do;
    reverse: the entries that can be, in another order)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:

        def add(info: tarfile.TarInfo, content: bytes = b"") -> None:
            info.mtime = built
            if atime:
                info.pax_headers = {**info.pax_headers, "atime": f"{built}.5", "ctime": f"{built}"}
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content) if content else None)

        directory = tarfile.TarInfo("usr/local/bin")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        add(directory)
        binary = tarfile.TarInfo("usr/local/bin/antrea-agent")
        binary.mode, binary.uid, binary.gid = 0o750, 0, 1000
        add(binary, agent)
        link = tarfile.TarInfo("usr/local/bin/agent")
        link.type, link.linkname = tarfile.SYMTYPE, "antrea-agent"
        hard = tarfile.TarInfo("usr/local/bin/agent-hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, "usr/local/bin/antrea-agent"
        hard.mode, hard.uid, hard.gid = binary.mode, binary.uid, binary.gid  # one inode
        capable = tarfile.TarInfo("usr/sbin/ping")
        capable.pax_headers = {"SCHILY.xattr.security.capability": "cap"}
        rest = [
            (link, b""),
            (hard, b""),
            (tarfile.TarInfo("etc/.wh.removed"), b""),
            (capable, b"ping"),
        ]
        for info, content in reversed(rest) if reverse else rest:
            add(info, content)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=gzip_time) as packed:
        packed.write(raw.getvalue())
    return out.getvalue()


def diff_id(data: bytes) -> str:
    """The sha256 of the layer's tar (of its bytes, for a layer that does not unpack)."""
    try:
        return sha256(gzip.decompress(data))
    except EOFError:
        return sha256(data)


def layout(
    path: Path, layers: list[bytes], created: str, kept_base: bytes, first_step: str = "step 0"
) -> Path:
    """An OCI tarball of one image: kept_base, then the layers, and a config whose times
    are created and whose history names kept_base's layer first_step."""
    blobs = {sha256(data): data for data in (kept_base, *layers)}
    diff_ids = [diff_id(data) for data in (kept_base, *layers)]
    config: dict[str, Any] = {
        "architecture": "arm64",
        "os": "linux",
        "created": created,
        "config": {"Entrypoint": ["/bin/sh"], "Labels": {"a": "b"}},
        "history": [
            {"created": created, "created_by": first_step},
            {"created": created, "created_by": "ENV", "empty_layer": True},
            *({"created": created, "created_by": f"step {n}"} for n in (1, 2)),
        ],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {"mediaType": GZIP_LAYER, "digest": sha256(data), "size": len(data)}
            for data in (kept_base, *layers)
        ],
    }
    manifest_bytes = json.dumps(manifest).encode()
    blobs[sha256(config_bytes)] = config_bytes
    blobs[sha256(manifest_bytes)] = manifest_bytes
    index = {"schemaVersion": 2, "manifests": [{"digest": sha256(manifest_bytes)}]}
    with tarfile.open(path, "w") as archive:
        for name, data in {
            "index.json": json.dumps(index).encode(),
            **{f"blobs/sha256/{d.split(':')[1]}": data for d, data in blobs.items()},
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


BASE = layer(EPOCH + 10**6, gzip_time=7)
# The same files as BASE compressed anew (what an engine that lost the pulled blob exports).
BASE_RECOMPRESSED = gzip.compress(gzip.decompress(BASE), compresslevel=1, mtime=9)


def remade_layer() -> bytes:
    """BASE's files as another tar (what an engine that re-made the layer from its snapshot
    exports): other order and times, names under ./ with the root's entry, the hard link
    the other way round, the file's type bits in its mode."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:

        def add(name: str, kind: bytes, content: bytes = b"", **fields: Any) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mtime, info.size = kind, EPOCH + 10**7, len(content)
            info.pax_headers = {"atime": "1.5"}
            for key, value in fields.items():
                setattr(info, key, value)
            archive.addfile(info, io.BytesIO(content) if content else None)

        add("./", tarfile.DIRTYPE, mode=0o755)
        capability = {"SCHILY.xattr.security.capability": "cap", "atime": "1.5"}
        add("./usr/sbin/ping", tarfile.REGTYPE, b"ping", pax_headers=capability)
        add("./etc/.wh.removed", tarfile.REGTYPE)
        add("./usr/local/bin/", tarfile.DIRTYPE, mode=0o755)
        owner: dict[str, Any] = {"mode": 0o100750, "uid": 0, "gid": 1000}
        add("./usr/local/bin/agent-hard", tarfile.REGTYPE, b"\x7fELF agent", **owner)
        add(
            "./usr/local/bin/antrea-agent",
            tarfile.LNKTYPE,
            linkname="./usr/local/bin/agent-hard",
            **owner,
        )
        add("./usr/local/bin/agent", tarfile.SYMTYPE, linkname="antrea-agent")
    return gzip.compress(raw.getvalue(), mtime=3)


BASE_REMADE = remade_layer()
MADE_ON = "registry.test/base@sha256:" + "b" * 64


def made_on(tmp_path: Path, history: tuple[dict[str, Any], ...] = ()) -> MadeOn:
    """The image the layouts were made on, as the registry holds it: BASE."""
    path = tmp_path / "registry-base"
    path.write_bytes(BASE)
    blob = Blob(GZIP_LAYER, sha256(BASE), len(BASE), path)
    return MadeOn(MADE_ON, (blob,), (diff_id(BASE),), history)


def made(
    tmp_path: Path,
    name: str,
    built: int,
    base: bytes = BASE,
    first_step: str = "step 0",
    history: tuple[dict[str, Any], ...] = (),
    **kind: Any,
) -> tuple[OciLayout, Any]:
    tarball = layout(
        tmp_path / f"{name}.tar",
        [layer(built, **kind), layer(built + 3, **kind)],
        created_stamp(built),
        base,
        first_step,
    )
    unpacked = OciLayout.unpack(tarball, tmp_path / name)
    return unpacked, reproducible(
        unpacked, EPOCH, made_on(tmp_path, history), tmp_path / f"{name}-out"
    )


def members(blob: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(blob, "r:gz") as archive:
        return archive.getmembers()


def test_two_builds_at_other_times_make_one_image(tmp_path: Path) -> None:
    _, first = made(tmp_path, "first", BUILT)
    _, second = made(tmp_path, "second", BUILT + 5000, atime=True, gzip_time=BUILT)
    assert first.manifest == second.manifest
    for ours, theirs in zip(first.blobs, second.blobs, strict=True):
        assert ours.path.read_bytes() == theirs.path.read_bytes()
    assert first.digest == sha256(first.manifest)


def test_the_layers_made_on_are_kept_as_they_are(tmp_path: Path) -> None:
    unpacked, image = made(tmp_path, "image", BUILT)
    assert image.layers[0].digest == sha256(BASE)
    assert image.layers[0].path == unpacked.layer_blob(unpacked.manifest["layers"][0]).path
    assert image.layers[0].path.read_bytes() == BASE
    assert [member.mtime for member in members(image.layers[0].path)] == [EPOCH + 10**6] * 6
    assert all(layer.digest not in unpacked.layer_digests for layer in image.layers[1:])


def test_a_layer_made_on_but_compressed_anew_is_the_registrys_blob(tmp_path: Path) -> None:
    assert sha256(BASE_RECOMPRESSED) != sha256(BASE)
    _, first = made(tmp_path, "first", BUILT)
    _, anew = made(tmp_path, "anew", BUILT + 5000, base=BASE_RECOMPRESSED)
    assert anew.layers[0] == made_on(tmp_path).layers[0]
    assert anew.manifest == first.manifest


def test_a_layer_made_on_but_remade_as_another_tar_is_the_registrys_blob(tmp_path: Path) -> None:
    assert diff_id(BASE_REMADE) != diff_id(BASE)
    _, first = made(tmp_path, "first", BUILT)
    _, remade = made(
        tmp_path, "remade", BUILT + 5000, base=BASE_REMADE, first_step="rehydrated snapshot"
    )
    assert remade.layers[0] == made_on(tmp_path).layers[0]
    assert remade.manifest == first.manifest


def test_a_layer_made_on_but_holding_other_files_is_refused(tmp_path: Path) -> None:
    other = layer(EPOCH + 10**6, gzip_time=7, agent=b"\x7fELF other agent")
    with pytest.raises(ReproducibleError) as refused:
        made(tmp_path, "other", BUILT, base=other)
    assert str(refused.value) == (
        f"its layer 1 holds other files than layer 1 of {MADE_ON}, which it was made on "
        "(usr/local/bin/agent-hard: other size, content)"
    )


def test_an_image_with_fewer_layers_than_it_was_made_on_is_refused(tmp_path: Path) -> None:
    tarball = layout(tmp_path / "short.tar", [], created_stamp(BUILT), BASE)
    unpacked = OciLayout.unpack(tarball, tmp_path / "short")
    base = made_on(tmp_path)
    deeper = MadeOn(MADE_ON, base.layers * 2, base.diff_ids * 2)
    with pytest.raises(ReproducibleError, match=rf"fewer layers \(1\) than {MADE_ON} \(2\)"):
        reproducible(unpacked, EPOCH, deeper, tmp_path / "out")


def test_a_rewritten_layer_keeps_every_entry_but_its_times(tmp_path: Path) -> None:
    unpacked, image = made(tmp_path, "image", BUILT, atime=True)
    before = members(unpacked.layer_blob(unpacked.manifest["layers"][1]).path)
    after = members(image.layers[1].path)
    assert [m.name for m in after] == [m.name for m in before]
    for old, new in zip(before, after, strict=True):
        assert (new.type, new.mode, new.uid, new.gid, new.linkname, new.size) == (
            old.type,
            old.mode,
            old.uid,
            old.gid,
            old.linkname,
            old.size,
        )
        assert new.mtime == EPOCH
        assert "atime" not in new.pax_headers and "ctime" not in new.pax_headers
    assert after[-1].pax_headers["SCHILY.xattr.security.capability"] == "cap"
    with tarfile.open(image.layers[1].path, "r:gz") as archive:
        content = archive.extractfile("usr/local/bin/antrea-agent")
        assert content is not None and content.read() == b"\x7fELF agent"


def test_an_older_mtime_stays_and_gzip_carries_no_time(tmp_path: Path) -> None:
    _, image = made(tmp_path, "image", EPOCH - 100)
    assert {member.mtime for member in members(image.layers[1].path)} == {EPOCH - 100}
    header = image.layers[1].path.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0" and header[3] & 0x08 == 0  # no MTIME, no FNAME


def test_the_config_records_the_source_date_and_the_new_layers(tmp_path: Path) -> None:
    _, image = made(tmp_path, "image", BUILT)
    config = json.loads(image.config.path.read_bytes())
    assert config["created"] == "2026-01-01T00:00:00Z"
    assert {entry["created"] for entry in config["history"]} == {"2026-01-01T00:00:00Z"}
    assert [entry["created_by"] for entry in config["history"]] == [
        f"layer {sha256(BASE)}",
        "ENV",
        "step 1",
        "step 2",
    ]
    assert config["config"] == {"Entrypoint": ["/bin/sh"], "Labels": {"a": "b"}}
    for layer, diff_id in zip(image.layers, config["rootfs"]["diff_ids"], strict=True):
        assert sha256(gzip.decompress(layer.path.read_bytes())) == diff_id
    manifest = json.loads(image.manifest)
    assert (
        manifest["config"]["digest"]
        == image.config.digest
        == sha256(image.config.path.read_bytes())
    )
    assert [layer["digest"] for layer in manifest["layers"]] == [b.digest for b in image.layers]


def test_the_history_of_the_layers_made_on_is_the_made_on_images(tmp_path: Path) -> None:
    history = (
        {"created": "2025-01-01T00:00:00Z", "created_by": "base step"},
        {"created": "2025-01-01T00:00:00Z", "created_by": "base ENV", "empty_layer": True},
    )
    _, image = made(tmp_path, "image", BUILT, history=history)
    config = json.loads(image.config.path.read_bytes())
    assert [entry["created_by"] for entry in config["history"]] == [
        "base step",
        "ENV",
        "step 1",
        "step 2",
    ]


def test_a_corrupt_layer_is_named(tmp_path: Path) -> None:
    broken = layer(BUILT)[:-40] + b"\0" * 40
    tarball = layout(tmp_path / "broken.tar", [broken], created_stamp(BUILT), BASE)
    unpacked = OciLayout.unpack(tarball, tmp_path / "broken")
    with pytest.raises(ReproducibleError, match=f"layer {sha256(broken)} cannot be read"):
        reproducible(unpacked, EPOCH, made_on(tmp_path), tmp_path / "out")


def test_a_tarball_that_is_not_a_layout_is_named(tmp_path: Path) -> None:
    tarball = tmp_path / "other.tar"
    with tarfile.open(tarball, "w") as archive:
        archive.addfile(tarfile.TarInfo("hello"), io.BytesIO(b""))
    with pytest.raises(ReproducibleError, match=r"other\.tar is not an OCI image layout"):
        OciLayout.unpack(tarball, tmp_path / "other")


@pytest.mark.parametrize(
    ("name", "kind"), [("../escape", tarfile.REGTYPE), ("blobs/sha256/link", tarfile.SYMTYPE)]
)
def test_a_layout_entry_out_of_place_is_refused(tmp_path: Path, name: str, kind: bytes) -> None:
    tarball = tmp_path / "bad.tar"
    with tarfile.open(tarball, "w") as archive:
        entry = tarfile.TarInfo(name)
        entry.type, entry.linkname = kind, "/etc/passwd"
        archive.addfile(entry, io.BytesIO(b""))
    with pytest.raises(ReproducibleError, match="is not a file an OCI layout holds"):
        OciLayout.unpack(tarball, tmp_path / "bad")
    assert not (tmp_path / "escape").exists()
