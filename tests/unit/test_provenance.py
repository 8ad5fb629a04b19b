"""SLSA v1 provenance statements (ci.core.provenance): written, checked against the in-toto
attestation types, and read back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

from ci.core.provenance import (
    PROVENANCE_TYPE,
    BuildFacts,
    ProvenanceError,
    SourceFacts,
    predicate,
    read_statement,
    statement,
)

DIGEST = "sha256:" + "ab" * 32
FACTS = BuildFacts(
    platform="linux/arm64",
    image="antrea-agent-ubuntu",
    source=SourceFacts(
        version="v2.7.0",
        commit="0123456789abcdef0123456789abcdef01234567",
        repository="https://github.com/antrea-io/antrea",
    ),
    go_sum_sha256="cd" * 32,
    ovs_version="3.7.1",
    ovs_tarball_sha256="ef" * 32,
    cni_plugins_version="v1.9.1",
    suricata_version="7.0.10",
    base_image="registry.example/debian@sha256:" + "01" * 32,
    go_image="registry.example/golang@sha256:" + "02" * 32,
    antrea_ci_version="0.1.0",
    dagger_version="v0.21.8",
    invocation="https://github.com/antrea-io/antrea-ci/actions/runs/1",
)


def as_statement(document: dict[str, Any]) -> Statement:
    """The document parsed into in-toto's Statement v1 type and validated."""
    parsed = Statement.copy_from_pb(json_format.ParseDict(document, Statement([], "", {}).pb))
    parsed.validate()
    return parsed


def test_the_statement_is_in_toto_v1_with_slsa_v1_provenance() -> None:
    document = statement("registry.example/antrea/antrea-agent-ubuntu", DIGEST, FACTS)
    parsed = as_statement(document)
    assert parsed.pb.predicate_type == PROVENANCE_TYPE
    provenance = json_format.ParseDict(document["predicate"], provenance_pb2.Provenance())
    assert provenance.build_definition.build_type.startswith("https://")
    for dependency in provenance.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dependency).validate()
    names = [d.name for d in provenance.build_definition.resolved_dependencies]
    assert names == ["source", "go.sum", "openvswitch", "base-image", "go-image"]
    assert provenance.run_details.metadata.invocation_id == FACTS.invocation


def test_what_is_written_is_read_back() -> None:
    recorded = read_statement(statement("r/antrea-agent-ubuntu", DIGEST, FACTS))
    assert recorded.subject_digests == (DIGEST,)
    assert (recorded.platform, recorded.image, recorded.ovs_version) == (
        "linux/arm64",
        "antrea-agent-ubuntu",
        "3.7.1",
    )
    assert (recorded.source, recorded.dirty, recorded.source_version) == (
        FACTS.source.commit,
        False,
        "v2.7.0",
    )


def test_a_tree_without_git_is_recorded_by_its_digest() -> None:
    source = SourceFacts(version="v2.7.0-dev", tree_sha256="99" * 32, dirty=True)
    recorded = read_statement(statement("r/x", DIGEST, replace(FACTS, source=source)))
    assert (recorded.source, recorded.dirty) == ("sha256:" + "99" * 32, True)


@pytest.mark.parametrize(
    ("facts", "digest", "named"),
    [
        (FACTS, "sha256:abc", "subject digest"),
        (replace(FACTS, base_image="debian:12"), DIGEST, "base image"),
        (replace(FACTS, go_sum_sha256=""), DIGEST, "go.sum"),
        (replace(FACTS, source=SourceFacts(version="v1")), DIGEST, "neither a commit"),
    ],
)
def test_an_input_that_cannot_be_recorded_is_named(
    facts: BuildFacts, digest: str, named: str
) -> None:
    with pytest.raises(ProvenanceError, match=named):
        statement("r/x", digest, facts)


def test_another_document_is_refused_by_what_it_lacks() -> None:
    document = statement("r/x", DIGEST, FACTS)
    with pytest.raises(ProvenanceError, match="not SLSA v1"):
        read_statement({**document, "predicateType": "https://slsa.dev/provenance/v0.2"})
    del document["predicate"]["buildDefinition"]["externalParameters"]["platform"]
    with pytest.raises(ProvenanceError, match="lacks a field"):
        read_statement(document)


def test_the_envelope_cosign_attest_writes_is_read() -> None:
    """`cosign attest --predicate` wraps the predicate in an in-toto Statement v0.1."""
    wrapped = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "r/x", "digest": {"sha256": DIGEST.removeprefix("sha256:")}}],
        "predicateType": PROVENANCE_TYPE,
        "predicate": predicate(FACTS),
    }
    assert read_statement(wrapped).subject_digests == (DIGEST,)
    with pytest.raises(ProvenanceError, match="not an in-toto statement"):
        read_statement({**wrapped, "_type": "https://in-toto.io/Statement/v2"})
