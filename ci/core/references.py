"""Image references, tags and content-addressed base image tags (pure, no engine)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ci.core.platforms import Platform

# The grammar of the OCI distribution spec (docker/distribution's reference package).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]+)?"
)
DEFAULT_REGISTRY = "docker.io"


class ImageReferenceError(ValueError):
    """A registry, repository or tag that no registry would accept."""


@dataclass(frozen=True)
class Repository:
    """Where images are pushed: a registry and a repository path, e.g. ghcr.io/antrea-io/x."""

    registry: str
    path: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.path}"

    def child(self, name: str) -> Repository:
        """The repository of one image in this namespace: ghcr.io/antrea-io/antrea-agent."""
        return parse_repository(f"{self}/{name}")

    def tagged(self, tag: str) -> str:
        return f"{self}:{check_tag(tag)}"


def parse_repository(text: str) -> Repository:
    """Parse REGISTRY/PATH or PATH (Docker Hub), refusing tags, digests and bad names."""
    value = text.strip()
    if "@" in value or not value:
        raise ImageReferenceError(
            f"invalid repository {text!r}: expected REGISTRY/NAME without tag"
        )
    first, _, rest = value.partition("/")
    is_registry = bool(rest) and ("." in first or ":" in first or first == "localhost")
    registry, path = (first, rest) if is_registry else (DEFAULT_REGISTRY, value)
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    if not _HOST.fullmatch(registry):
        raise ImageReferenceError(f"invalid registry {registry!r} in {text!r}")
    if ":" in path or not _REPOSITORY.fullmatch(path):
        raise ImageReferenceError(
            f"invalid repository {path!r} in {text!r}: lowercase letters, digits and "
            "separators (., _, __, -) between /-separated components, no tag"
        )
    return Repository(registry, path)


def image_reference(reference: str) -> tuple[Repository, str]:
    """An image reference REPOSITORY[:TAG][@DIGEST] split into its repository and what names
    the image there: the digest when given, else the tag, else latest
    (ubuntu:24.04: docker.io/library/ubuntu and 24.04)."""
    name, _, digest = reference.strip().partition("@")
    slash = name.rfind("/")
    tag = "latest"
    if ":" in name[slash + 1 :]:
        name, tag = name[: slash + 1] + name[slash + 1 :].split(":", 1)[0], name.rsplit(":", 1)[1]
    return parse_repository(name), digest or check_tag(tag)


def check_tag(tag: str) -> str:
    """The tag, if a registry would accept it."""
    if not _TAG.fullmatch(tag):
        raise ImageReferenceError(
            f"invalid tag {tag!r}: up to 128 letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'"
        )
    return tag


def arch_tag(tag: str, platform: Platform) -> str:
    """The per-architecture tag CI matrix jobs push before the merge: v2.7.0-arm64, -arm."""
    return check_tag(f"{tag}-{platform.facts.tag_suffix}")


def content_tag(inputs: Mapping[str, str]) -> str:
    """A tag that changes exactly when one of the inputs changes: sha-<16 hex digits>."""
    canonical = json.dumps(dict(sorted(inputs.items())), separators=(",", ":"))
    return "sha-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
