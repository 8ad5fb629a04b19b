"""How the fault campaign judges a registry after a run (no engine, no registry)."""

from __future__ import annotations

from tests.support.fault_campaign import (
    CampaignRun,
    TagState,
    _hits,
    multi_arch,
    partial_tags,
    summary,
)

PLATFORMS = ["linux/amd64", "linux/arm64"]
BOTH = frozenset(PLATFORMS)


def state(complete: bool = True, platforms: frozenset[str] = BOTH) -> TagState:
    return TagState("sha256:" + "0" * 64, complete, platforms)


def test_multi_arch_tags_are_the_release_tags_of_released_images() -> None:
    assert multi_arch("antrea-agent-ubuntu:v1.0.0")
    assert multi_arch("flow-aggregator:latest")
    assert not multi_arch("antrea-agent-ubuntu:v1.0.0-arm64")
    assert not multi_arch("antrea-openvswitch:latest")


def test_an_index_without_every_platform_or_a_missing_blob_is_partial() -> None:
    tags = {
        "antrea-agent-ubuntu:v1.0.0": state(),
        "antrea-controller-ubuntu:v1.0.0": state(platforms=frozenset(["linux/amd64"])),
        "antrea-agent-ubuntu:v1.0.0-amd64": state(platforms=frozenset(["linux/amd64"])),
        "antrea-base:abc": state(complete=False, platforms=frozenset(["linux/amd64"])),
    }
    assert partial_tags(tags, PLATFORMS) == ["antrea-base:abc", "antrea-controller-ubuntu:v1.0.0"]


def test_faults_are_read_from_the_proxy_log() -> None:
    log = [
        "1 HEAD /v2/c/antrea-agent-ubuntu/blobs/sha256:ab forwarded",
        "2 PATCH /v2/c/antrea-agent-ubuntu/blobs/uploads/u1?_state=s cut",
        "3 PUT /v2/c/antrea-agent-ubuntu/manifests/v1.0.0 503",
        "4 GET /v2/ 429",
    ]
    assert _hits(log) == ("cut PATCH blobs/uploads", "503 PUT manifests", "429 GET other")


def test_the_summary_counts_runs_and_retries_per_push() -> None:
    def run(completed: bool, retries: int) -> CampaignRun:
        return CampaignRun("publish", "mild", 1, 2, 10, completed, "", retries, 4, 0, 0, True, ())

    assert summary([run(True, 1), run(False, 3)]) == (
        "runs 2, faults injected 4, completed 1, partial 0, moved on failure 0, "
        "converged 2, mean retries per push 0.50"
    )
