"""Fingerprints: digests of what each image of a platform is made of (pure, no engine).

An image's fingerprint changes exactly when one of its inputs does (the source tree, the
OVS and base images' content tags, the distribution and Go images by digest, the platform)
or this project's code and build/ assets do. Equal fingerprints mean images built alike, by
any engine in any session: `build --output` keeps a tarball whose fingerprint is unchanged
instead of exporting the image again, without reading the image's root filesystem (which, after an
engine restart, costs seconds per image).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ci.core.assets import BUILD_DIR

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def project_digest(package_dir: Path = PACKAGE_DIR, build_dir: Path = BUILD_DIR) -> str:
    """A digest of the package's Python files and of build/: any edit is a new fingerprint."""
    digest = hashlib.sha256()
    for root, pattern in ((package_dir, "*.py"), (build_dir, "*")):
        for path in sorted(p for p in root.rglob(pattern) if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            digest.update(f"{root.name}/{path.relative_to(root)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _digest(inputs: dict[str, str]) -> str:
    canonical = json.dumps(dict(sorted(inputs.items())), separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class PlatformInputs:
    """Everything one platform's images are made of, as digests and references."""

    platform: str
    ovs_tag: str  # the OVS image's content tag (ci.core.base_tags)
    base_tag: str  # the base image's content tag, which includes the OVS image's
    flow_aggregator_base_tag: str  # the flow-aggregator base's content tag
    bases_from: str  # where OVS and base were pulled from; "" when built here
    distro_ref: str  # the distribution image, by digest
    go_image_ref: str  # the Go image, by digest
    source_digest: str  # the source tree handed to the stages
    version: str  # the version labels carry and binaries are linked with (the commit too)
    project: str  # project_digest()

    def fingerprints(self) -> dict[str, str]:
        """Field of Images -> that image's fingerprint."""
        shared = {"platform": self.platform, "project": self.project}
        bases = {**shared, "bases-from": self.bases_from}
        antrea = {
            **shared,
            "source": self.source_digest,
            "version": self.version,
            "go-image": self.go_image_ref,
        }
        on_distro = {**antrea, "distro": self.distro_ref}
        return {
            "ovs": _digest({**bases, "image": "ovs", "ovs": self.ovs_tag}),
            "base": _digest({**bases, "image": "base", "base": self.base_tag}),
            "agent": _digest({**antrea, **bases, "image": "agent", "base": self.base_tag}),
            "controller": _digest({**on_distro, "image": "controller"}),
            "flow_aggregator": _digest(
                {
                    **on_distro,
                    **bases,
                    "image": "flow_aggregator",
                    "flow-aggregator-base": self.flow_aggregator_base_tag,
                }
            ),
        }
