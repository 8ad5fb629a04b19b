"""Whether an exported OCI tarball still holds the image a build made (pure, no engine).

Exporting an unchanged image again costs as much as the first time (seconds per image).
A stamp beside each tarball records what the image is made of: the digest of its root
filesystem and its configuration. When a rebuild yields the same stamp and the tarball is
still there, the export is skipped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

STAMP_SUFFIX = ".stamp"


@dataclass(frozen=True)
class ImageIdentity:
    """What makes an image: its platform, root filesystem and configuration."""

    platform: str
    rootfs_digest: str
    entrypoint: list[str]
    default_args: list[str]
    env: list[str]
    labels: dict[str, str]
    workdir: str
    user: str

    def stamp(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def stamp_path(tarball: Path) -> Path:
    return tarball.with_name(tarball.name + STAMP_SUFFIX)


def _recorded(tarball: Path, identity: ImageIdentity) -> str:
    return f"{identity.stamp()} {tarball.stat().st_size}\n"


def unchanged(tarball: Path, identity: ImageIdentity) -> bool:
    """Whether the tarball exists, as exported from an image of this identity."""
    stamp = stamp_path(tarball)
    return (
        tarball.is_file() and stamp.is_file() and stamp.read_text() == _recorded(tarball, identity)
    )


def record(tarball: Path, identity: ImageIdentity) -> None:
    """Note, after an export, what the tarball holds (and its size, to notice a change)."""
    stamp_path(tarball).write_text(_recorded(tarball, identity))


def forget(tarball: Path) -> None:
    """Before an export: the tarball is about to change, its stamp no longer holds."""
    stamp_path(tarball).unlink(missing_ok=True)
