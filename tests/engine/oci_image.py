"""Assemble a multi-platform OCI image layout from root filesystem tarballs.

Used by the offline test bed to turn mmdebstrap output (one rootfs tar per platform,
plus optional extra layer tars) into an OCI image index whose manifests carry the right
os/architecture/variant, which `docker import` cannot do. The layout is pushed with
`skopeo copy --all oci:OUT_DIR:latest ...`.

Usage: oci_image.py OUT_DIR --env K=V ... --platform linux/arm64=rootfs.tar[,layer2.tar...] ...
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
from pathlib import Path

CHUNK = 1 << 20
REF_NAME = "latest"


def _write_blob(layout: Path, data: bytes, media_type: str) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def _add_layer(layout: Path, tar_path: Path) -> tuple[dict[str, object], str]:
    """Compress one layer tar into the layout; return its descriptor and diff id."""
    blobs = layout / "blobs" / "sha256"
    tmp = blobs / "incoming.tar.gz"
    raw_hash = hashlib.sha256()
    with (
        tar_path.open("rb") as src,
        tmp.open("wb") as out,
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz,
    ):
        while chunk := src.read(CHUNK):
            raw_hash.update(chunk)
            gz.write(chunk)
    gz_hash = hashlib.sha256()
    with tmp.open("rb") as done:
        while chunk := done.read(CHUNK):
            gz_hash.update(chunk)
    size = tmp.stat().st_size
    tmp.rename(blobs / gz_hash.hexdigest())
    descriptor = {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": f"sha256:{gz_hash.hexdigest()}",
        "size": size,
    }
    return descriptor, f"sha256:{raw_hash.hexdigest()}"


def _platform(spec: str) -> dict[str, str]:
    parts = spec.split("/")
    platform = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        platform["variant"] = parts[2]
    return platform


def build(
    out: Path, platforms: dict[str, list[Path]], env: list[str], cmd: list[str]
) -> list[dict[str, object]]:
    """Write the layout; the descriptors of its per-platform manifests."""
    if out.exists():
        shutil.rmtree(out)
    (out / "blobs" / "sha256").mkdir(parents=True)
    (out / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    manifests = []
    for spec, tars in platforms.items():
        platform = _platform(spec)
        layers, diff_ids = zip(*(_add_layer(out, tar) for tar in tars), strict=True)
        config = {
            **platform,
            "config": {"Env": env, "Cmd": cmd, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        }
        config_desc = _write_blob(
            out, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"
        )
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_desc,
            "layers": list(layers),
        }
        descriptor = _write_blob(
            out, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"
        )
        manifests.append({**descriptor, "platform": platform})
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }
    # The layout's own index names one image, the multi-platform index, as REF_NAME.
    index_desc = _write_blob(
        out, json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json"
    )
    index_desc["annotations"] = {"org.opencontainers.image.ref.name": REF_NAME}
    layout_index = {"schemaVersion": 2, "manifests": [index_desc]}
    (out / "index.json").write_text(json.dumps(layout_index))
    return manifests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--platform", action="append", required=True, metavar="P=TAR[,TAR]")
    parser.add_argument("--env", action="append", default=[], metavar="K=V")
    parser.add_argument("--cmd", default="bash")
    args = parser.parse_args()
    platforms = {}
    for item in args.platform:
        spec, _, tars = item.partition("=")
        platforms[spec] = [Path(t) for t in tars.split(",")]
    env = args.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    build(args.out, platforms, env, [args.cmd])


if __name__ == "__main__":
    main()
