"""The portable Go cache: how its entries are named, described and checked (pure).

An entry holds Go's module cache and build cache (test results included) as one engine
platform's compiler left them: Go cross-compiles there for every target and keys its own
entries by GOOS/GOARCH, so one entry serves every target platform. It is an OCI image
whose labels describe it, kept in a registry (tags) or a directory (OCI tarballs); inside,
the two caches are tar files (an engine imports a few large files several times faster
than Go's thousands of small ones, and a restore unpacks them side by side).

An entry is named by what invalidates it: the Go image (by digest) and the platform the
compiler runs on (the prefix: another Go or platform is never used), then the tree's
go.sum (another go.sum is used only when no entry of this one exists: an old build cache
still saves most of the work).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ci.core.platforms import Platform
from ci.core.references import ImageReferenceError, Repository, parse_repository

LABEL = "org.antrea-ci.go-cache"
FORMAT = "2"
# Inside an entry's image: the module cache as one tar file, the build cache as two (Go's
# subdirectories 00-7f, then the rest), each as Go laid them out.
ENTRY_DIR = "/go-cache"
MODULE_TAR = "modules.tar"
BUILD_TARS = ("build-0.tar", "build-1.tar")
# Files of an entry are stamped with this time (seconds since 1970): Go marks an entry it
# uses by moving its time to now (when it is over an hour old), so after a build the files
# still stamped so are those nobody used, and a save leaves them out.
STAMP = 946684800  # 2000-01-01T00:00:00Z


class CacheStoreError(ValueError):
    """A cache store that cannot be (a reference no registry accepts, a path that is not a
    directory)."""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class GoCacheKey:
    """What a cache entry must match: the Go image and its version, the compiler's
    platform, the tree's go.sum."""

    go_version: str  # the Go image's Go, e.g. go1.26.8 (see go_version)
    go_image_digest: str  # sha256:...
    platform: Platform  # where the compiler runs: the engine's platform
    go_sum: str  # sha256 of the tree's go.sum (hex)

    @property
    def prefix(self) -> str:
        """Entries of this Go image and platform: go1.26.8-1a2b3c4d5e6f-linux-amd64."""
        digest = self.go_image_digest.removeprefix("sha256:")[:12]
        return f"{self.go_version}-{digest}-{self.platform.slug}"

    @property
    def name(self) -> str:
        """This entry's own name: the prefix and the go.sum's digest."""
        return f"{self.prefix}-{self.go_sum[:12]}"

    def labels(self) -> dict[str, str]:
        """What an entry of this key says of itself (its image's labels)."""
        return {
            f"{LABEL}.format": FORMAT,
            f"{LABEL}.go-version": self.go_version,
            f"{LABEL}.go-image": self.go_image_digest,
            f"{LABEL}.platform": str(self.platform),
            f"{LABEL}.go-sum": self.go_sum,
        }


def engine_file_digest(sha256_hex: str) -> str:
    """What Dagger 0.21's `File.digest(excludeMetadata: true)` answers for a file whose
    sha256 is this: the sha256 of that sha256's 32 bytes, prefixed (its core/file.go
    hashes the hash); "" when this is not a sha256."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256_hex):
        return ""
    return "sha256:" + hashlib.sha256(bytes.fromhex(sha256_hex)).hexdigest()


def go_version(golang_version: str) -> str:
    """Go's own name of its version (`go env GOVERSION`) from an image's GOLANG_VERSION,
    which the official Go images and the test bed's set: 1.26.8 is go1.26.8."""
    return f"go{golang_version.strip().removeprefix('go')}"


def mismatch(labels: Mapping[str, str], key: GoCacheKey) -> str:
    """Why an entry cannot serve this key ("" when it can): not an entry, another format,
    Go or platform. Another go.sum is fine (the fallback to an older entry)."""
    if labels.get(f"{LABEL}.format") is None:
        return "it is not an antrea-ci Go cache"
    if labels[f"{LABEL}.format"] != FORMAT:
        return f"it has format {labels[f'{LABEL}.format']}, this antrea-ci reads {FORMAT}"
    expected = key.labels()
    for field, what in (("platform", "platform"), ("go-version", "Go"), ("go-image", "Go image")):
        found = labels.get(f"{LABEL}.{field}", "")
        wanted = expected[f"{LABEL}.{field}"]
        if found != wanted:
            return f"it was made for {what} {found or 'unknown'}, this build uses {wanted}"
    return ""


@dataclass(frozen=True)
class DirectoryStore:
    """Entries as OCI tarballs in a directory of this machine: NAME.tar, with NAME.json
    beside it (its sha256 and size, written last: an entry without one is not whole)."""

    path: Path

    def tarball(self, name: str) -> Path:
        return self.path / f"{name}.tar"

    def description(self, name: str) -> Path:
        return self.path / f"{name}.json"

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class RegistryStore:
    """Entries as images of one repository: tag NAME, and tag PREFIX for the newest entry
    of the prefix."""

    repository: Repository

    def __str__(self) -> str:
        return str(self.repository)


CacheStore = DirectoryStore | RegistryStore

_PATHLIKE = re.compile(r"^(/|\./|\.\./|~)")


def parse_store(text: str) -> CacheStore:
    """A directory (an absolute or relative path, ./ or ~ first) or a registry repository
    (REGISTRY/NAMESPACE/NAME)."""
    value = text.strip()
    if not value:
        raise CacheStoreError("an empty cache store: give a directory or REGISTRY/REPOSITORY")
    if _PATHLIKE.match(value):
        return DirectoryStore(Path(value).expanduser())
    try:
        return RegistryStore(parse_repository(value))
    except ImageReferenceError as error:
        raise CacheStoreError(
            f"cache store {text!r} is neither a directory (/..., ./..., ~/...) nor a "
            f"registry repository: {error}"
        ) from None


def newest_with_prefix(names: Iterable[tuple[str, float]], prefix: str) -> str | None:
    """Of (name, time saved) pairs, the newest name of the prefix, if any."""
    matching = [(saved, name) for name, saved in names if name.startswith(f"{prefix}-")]
    return max(matching)[1] if matching else None
