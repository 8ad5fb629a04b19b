"""Reading image tarballs (OCI layouts, `docker save` archives) member by member (pure)."""

from __future__ import annotations

import tarfile
from typing import IO


def member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    """A file of the tarball; ValueError naming it when the tarball has none."""
    found = archive.extractfile(name)
    if found is None:
        raise ValueError(f"{archive.name!r} has no {name}")
    return found


def blob(digest: str) -> str:
    """The path of a blob in an OCI layout (blobs/sha256/...)."""
    return "blobs/" + digest.replace(":", "/")
