"""Tarballs made from a mapping of member names to bytes, for tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def write_tarball(path: Path, files: dict[str, bytes], mode: str = "w") -> Path:
    """The files as regular members of a tarball (mode "w:gz" for gzip); returns path."""
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """The files as regular members of an uncompressed tar, in memory."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return raw.getvalue()
