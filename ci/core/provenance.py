"""SLSA v1 provenance of one platform image, as an in-toto Statement v1 (pure, no engine).

The statement's subject is the pushed manifest's digest. Its build definition records what
only this pipeline knows exactly: the source (commit, or the tree's digest when it has no
.git, and whether it was dirty), go.sum's digest, the OVS tarball, the CNI plugins and
Suricata versions, and the base and Go images by digest. Its run details name the builder
(antrea-ci and the Dagger engine, by version) and the invocation (a CI run's URL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
# What a reader accepts: v1, and v0.1, the envelope `cosign attest --predicate` writes.
READ_STATEMENT_TYPES = (STATEMENT_TYPE, "https://in-toto.io/Statement/v0.1")
PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://github.com/antrea-io/antrea-ci/build/v1"
BUILDER_ID = "https://github.com/antrea-io/antrea-ci"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
HEX = re.compile(r"[0-9a-f]{64}")


class ProvenanceError(ValueError):
    """A statement that is not this pipeline's provenance, or an input it cannot record."""


@dataclass(frozen=True)
class SourceFacts:
    """Where the Antrea tree came from: a commit, or the tree's own digest without .git."""

    version: str  # Antrea's version string as the binaries carry it
    commit: str = ""  # a git commit, "" for a tree without .git
    tree_sha256: str = ""  # the uploaded tree's digest when there is no commit
    dirty: bool = False
    repository: str = ""  # where the commit lives (a URL), "" when unknown

    def descriptor(self) -> dict[str, Any]:
        """The source as a SLSA ResourceDescriptor."""
        if self.commit:
            uri = f"git+{self.repository}@{self.commit}" if self.repository else self.commit
            return {"name": "source", "uri": uri, "digest": {"gitCommit": self.commit}}
        if not HEX.fullmatch(self.tree_sha256):
            raise ProvenanceError("the source has neither a commit nor a tree digest")
        return {"name": "source", "digest": {"sha256": self.tree_sha256}}


@dataclass(frozen=True)
class BuildFacts:
    """Everything a platform image's provenance records besides its subject."""

    platform: str
    image: str  # antrea-agent-ubuntu, antrea-openvswitch, ...
    source: SourceFacts
    go_sum_sha256: str
    ovs_version: str
    ovs_tarball_sha256: str
    cni_plugins_version: str
    suricata_version: str  # "" where the image carries no Suricata
    base_image: str  # repository@sha256:..., the distribution image the images start from
    go_image: str  # repository@sha256:..., the Go image that compiled the binaries
    antrea_ci_version: str
    dagger_version: str  # the engine's
    invocation: str = ""  # the CI run's URL, "" for a build by hand

    def check(self) -> None:
        """ProvenanceError naming the first input that cannot be recorded as given."""
        for name, value in (
            ("go.sum", self.go_sum_sha256),
            ("OVS tarball", self.ovs_tarball_sha256),
        ):
            if not HEX.fullmatch(value):
                raise ProvenanceError(f"{name}'s sha256 is not 64 hex digits: {value!r}")
        for name, reference in (("base image", self.base_image), ("Go image", self.go_image)):
            if not DIGEST.fullmatch(reference.rpartition("@")[2]):
                raise ProvenanceError(f"{name} {reference!r} is not pinned by digest")


def _image(name: str, reference: str) -> dict[str, Any]:
    repository, _, digest = reference.rpartition("@")
    return {
        "name": name,
        "uri": f"pkg:docker/{repository}",
        "digest": {"sha256": digest.removeprefix("sha256:")},
    }


def statement(subject: str, digest: str, facts: BuildFacts) -> dict[str, Any]:
    """The provenance statement of the image pushed as subject (repository) at digest."""
    if not DIGEST.fullmatch(digest):
        raise ProvenanceError(f"subject digest {digest!r} is not sha256:<64 hex digits>")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject, "digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicateType": PROVENANCE_TYPE,
        "predicate": predicate(facts),
    }


def predicate(facts: BuildFacts) -> dict[str, Any]:
    """The SLSA v1 provenance predicate of a build (what `cosign attest` signs and wraps
    in a statement naming the digest it attests)."""
    facts.check()
    source = facts.source
    dependencies = [
        source.descriptor(),
        {"name": "go.sum", "digest": {"sha256": facts.go_sum_sha256}},
        {
            "name": "openvswitch",
            "uri": f"openvswitch-{facts.ovs_version}.tar.gz",
            "digest": {"sha256": facts.ovs_tarball_sha256},
        },
        _image("base-image", facts.base_image),
        _image("go-image", facts.go_image),
    ]
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "image": facts.image,
                "platform": facts.platform,
                "source": {"version": source.version, "dirty": source.dirty},
                "versions": {
                    "openvswitch": facts.ovs_version,
                    "cniPlugins": facts.cni_plugins_version,
                    "suricata": facts.suricata_version,
                },
            },
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {
                "id": BUILDER_ID,
                "version": {
                    "antrea-ci": facts.antrea_ci_version,
                    "dagger-engine": facts.dagger_version,
                },
            },
            "metadata": {"invocationId": facts.invocation} if facts.invocation else {},
        },
    }


@dataclass(frozen=True)
class Recorded:
    """What a verifier reads back from a provenance statement."""

    subject_digests: tuple[str, ...]
    platform: str
    image: str
    source_version: str
    source: str  # the commit, or sha256:<tree digest>
    dirty: bool
    ovs_version: str
    cni_plugins_version: str


def read_statement(document: dict[str, Any]) -> Recorded:
    """The recorded facts of a statement (v1 or v0.1); ProvenanceError when it is not SLSA
    v1 provenance of this pipeline's build type."""
    if document.get("_type") not in READ_STATEMENT_TYPES:
        raise ProvenanceError(f"not an in-toto statement: _type {document.get('_type')!r}")
    if document.get("predicateType") != PROVENANCE_TYPE:
        raise ProvenanceError(f"not SLSA v1 provenance: {document.get('predicateType')!r}")
    try:
        definition = document["predicate"]["buildDefinition"]
        if definition["buildType"] != BUILD_TYPE:
            raise ProvenanceError(f"another build type: {definition['buildType']!r}")
        parameters = definition["externalParameters"]
        source = next(d for d in definition["resolvedDependencies"] if d["name"] == "source")
        origin = source["digest"].get("gitCommit") or f"sha256:{source['digest']['sha256']}"
        return Recorded(
            subject_digests=tuple(
                f"sha256:{subject['digest']['sha256']}" for subject in document["subject"]
            ),
            platform=parameters["platform"],
            image=parameters["image"],
            source_version=parameters["source"]["version"],
            source=origin,
            dirty=bool(parameters["source"]["dirty"]),
            ovs_version=parameters["versions"]["openvswitch"],
            cni_plugins_version=parameters["versions"]["cniPlugins"],
        )
    except (KeyError, TypeError, StopIteration) as error:
        raise ProvenanceError(f"provenance lacks a field antrea-ci writes: {error}") from None
