"""A release on a bad registry day, end to end: one flow (publish, publish-arch + merge,
publish-base) of the module's main object pushed through the fault proxy, then the registry
read directly:

- every tag of the namespace names only manifests and blobs the registry holds (a tag that
  does not is a partial image), and every multi-arch tag lists every platform (one that does
  not is a partial index);
- a run that failed left no multi-arch tag (the namespace is new: before the run, none);
- a failed run, run again without faults, converges: every tag has the digest a clean run of
  the same flow gave (the reference).

Used by tests/integration/test_faults.py (publish, one seed) and `benchmarks.run --section
faults` (every flow and mix, many seeds: the figures).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import anyio
import httpx

from ci.core.catalog import IMAGE_NAMES, RELEASED
from ci.core.errors import first_line
from ci.main import Antrea
from tests.support.fault_proxy import FaultProxy, Faults
from tests.support.registry_api import MANIFEST_TYPES

FLOWS = ("publish", "publish-arch+merge", "publish-base")
TAG = "v1.0.0"
MULTI_ARCH_TAGS = (TAG, "latest")
# Mixes of every fault the proxy knows, spread over a run's requests (a fixture release is
# 80 to 150 requests). Mild: runs get through on retries. Harsh: some exhaust them, fail, and
# are run again.
MIXES = {
    "mild": Faults(
        error_share=0.03,
        error_statuses=(500, 503),
        throttle_share=0.01,
        retry_after=1,
        cut_share=0.1,
        delay_share=0.1,
        delay_seconds=0.2,
    ),
    "harsh": Faults(
        error_share=0.15,
        error_statuses=(500, 503),
        throttle_share=0.05,
        retry_after=1,
        cut_share=0.3,
        delay_share=0.2,
        delay_seconds=0.5,
    ),
}
_MANIFEST_PUT = re.compile(r"^\d+ PUT \S*/manifests/\S* forwarded$")
_API_PART = re.compile(r"/(manifests|blobs/uploads|blobs)/")


def _hits(log: list[str]) -> tuple[str, ...]:
    """The faults of a proxy's log ("NUMBER METHOD TARGET DECISION" lines), as
    'FAULT METHOD PART' where PART is manifests, blobs/uploads, blobs or other."""
    hits = []
    for line in log:
        fields = line.split(" ")
        if len(fields) == 4 and fields[0].isdigit() and fields[3] != "forwarded":
            part = _API_PART.search(fields[2])
            hits.append(f"{fields[3]} {fields[1]} {part.group(1) if part else 'other'}")
    return tuple(hits)


@dataclass(frozen=True)
class TagState:
    """What a tag names in the registry."""

    digest: str
    complete: bool
    """Every manifest it names is readable, every config and layer blob present."""
    platforms: frozenset[str]


@dataclass(frozen=True)
class CampaignRun:
    """One flow under the proxy's faults, audited."""

    flow: str
    mix: str
    seed: int
    faults: int
    requests: int
    completed: bool
    error: str
    retries: int
    pushes: int
    partial: int
    """Tags naming a missing manifest or blob, and multi-arch tags missing a platform."""
    moved_on_failure: int
    """Multi-arch tags present after a run that failed."""
    converged: bool
    """After the run (and the rerun without faults if it failed), every tag as the reference."""
    hits: tuple[str, ...]
    """Each fault injected: what and where ("503 PUT manifests", "cut PATCH blobs")."""

    def line(self) -> str:
        outcome = "completed" if self.completed else f"failed ({self.error[:240]})"
        return (
            f"{self.flow}, {self.mix} faults, seed {self.seed}: {outcome}; {self.faults} faults in "
            f"{self.requests} requests, {self.retries} retries, {self.pushes} manifest pushes, "
            f"{self.partial} partial, {self.moved_on_failure} moved on failure, "
            f"{'converged' if self.converged else 'NOT converged'}; faults: "
            f"{', '.join(f'{hit} x{n}' for hit, n in sorted(Counter(self.hits).items()))}"
        )


def summary(runs: list[CampaignRun]) -> str:
    """The figures of a campaign, in one line."""
    pushes = sum(run.pushes for run in runs) or 1
    return (
        f"runs {len(runs)}, faults injected {sum(run.faults for run in runs)}, completed "
        f"{sum(run.completed for run in runs)}, partial {sum(run.partial for run in runs)}, "
        f"moved on failure {sum(run.moved_on_failure for run in runs)}, converged "
        f"{sum(run.converged for run in runs)}, mean retries per push "
        f"{sum(run.retries for run in runs) / pushes:.2f}"
    )


async def run_flow(flow: str, antrea: Antrea, namespace: str, platforms: list[str]) -> None:
    """One release flow as CI runs it, into REGISTRY/NAMESPACE."""
    if flow == "publish":
        await antrea.publish([namespace], TAG, platforms, latest=True)
    elif flow == "publish-arch+merge":
        for platform in platforms:
            await antrea.publish_arch([namespace], TAG, platform)
        await antrea.merge([namespace], TAG, platforms, latest=True)
    elif flow == "publish-base":
        await antrea.publish_base(namespace, platforms)
    else:
        raise ValueError(f"unknown flow {flow!r}: expected one of {', '.join(FLOWS)}")


class _Tee(io.TextIOBase):
    """Writes through to a stream and counts the lines that start with 'retrying '."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.retries = 0

    def write(self, text: str) -> int:
        self.retries += sum(line.startswith("retrying ") for line in text.splitlines())
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def _counting_retries() -> Iterator[_Tee]:
    tee = _Tee(sys.stderr)
    with contextlib.redirect_stderr(tee):
        yield tee


def _reason(failure: BaseException) -> str:
    """The first line of the first leaf of a failure (task groups wrap theirs)."""
    while isinstance(failure, BaseExceptionGroup) and failure.exceptions:
        failure = failure.exceptions[0]
    return first_line(str(failure), repr(failure))


def _get(http: httpx.Client, url: str) -> httpx.Response:
    return http.get(url, headers={"Accept": MANIFEST_TYPES})


def _platform(config: dict[str, Any]) -> str:
    parts = [config.get("os", ""), config.get("architecture", "")]
    return "/".join([*parts, *([config["variant"]] if config.get("variant") else [])])


def _manifest_state(http: httpx.Client, base: str, document: dict[str, Any]) -> tuple[bool, str]:
    """Whether an image manifest's blobs are all present; its platform (from its config)."""
    config = http.get(f"{base}/blobs/{document['config']['digest']}")
    layers_present = all(
        http.head(f"{base}/blobs/{layer['digest']}").status_code == 200
        for layer in document.get("layers", [])
    )
    if config.status_code != 200:
        return False, ""
    return layers_present, _platform(config.json())


def tag_state(http: httpx.Client, registry: str, repository: str, tag: str) -> TagState:
    """What repository:tag names, read back over the registry's API."""
    base = f"http://{registry}/v2/{repository}"
    answer = _get(http, f"{base}/manifests/{tag}")
    answer.raise_for_status()
    digest = "sha256:" + hashlib.sha256(answer.content).hexdigest()
    document = answer.json()
    if "manifests" not in document:
        complete, platform = _manifest_state(http, base, document)
        return TagState(digest, complete, frozenset([platform]))
    complete = True
    platforms = set()
    for entry in document["manifests"]:
        child = _get(http, f"{base}/manifests/{entry['digest']}")
        if child.status_code != 200:
            complete = False
            continue
        child_complete, platform = _manifest_state(http, base, child.json())
        complete = complete and child_complete
        platforms.add(platform)
    return TagState(digest, complete, frozenset(platforms))


def audit(registry: str, namespace: str) -> dict[str, TagState]:
    """Every tag of every image repository under NAMESPACE (a path in REGISTRY), as
    'repository:tag' relative to the namespace."""
    found = {}
    with httpx.Client(timeout=30) as http:
        for name in IMAGE_NAMES.values():
            repository = f"{namespace}/{name}"
            tags = http.get(f"http://{registry}/v2/{repository}/tags/list")
            if tags.status_code == 404:
                continue
            tags.raise_for_status()
            for tag in tags.json().get("tags") or []:
                found[f"{name}:{tag}"] = tag_state(http, registry, repository, tag)
    return found


def multi_arch(name: str) -> bool:
    """Whether 'repository:tag' is one of a release's multi-arch tags."""
    repository, _, tag = name.partition(":")
    return tag in MULTI_ARCH_TAGS and repository in {IMAGE_NAMES[i] for i in RELEASED}


def partial_tags(state: dict[str, TagState], platforms: list[str]) -> list[str]:
    """Tags naming something missing, and multi-arch tags without every platform."""
    expected = frozenset(platforms)
    return sorted(
        name
        for name, tag in state.items()
        if not tag.complete or (multi_arch(name) and tag.platforms != expected)
    )


def digests(state: dict[str, TagState]) -> dict[str, str]:
    return {name: tag.digest for name, tag in state.items()}


@dataclass
class Campaign:
    """Runs flows under faults against one registry, each in a new namespace."""

    registry: str
    make_antrea: Callable[[], Antrea]
    platforms: list[str]
    mix: str = "mild"
    seconds_per_run: float = 900

    async def reference(self, flow: str) -> dict[str, str]:
        """The tags and digests of a clean run of the flow, without the proxy."""
        namespace = f"campaign/reference-{uuid.uuid4().hex[:8]}"
        await run_flow(flow, self.make_antrea(), f"{self.registry}/{namespace}", self.platforms)
        state = audit(self.registry, namespace)
        if partial_tags(state, self.platforms):
            raise AssertionError(f"the reference run of {flow} is partial: {state}")
        return digests(state)

    async def run(self, flow: str, seed: int, reference: dict[str, str]) -> CampaignRun:
        """The flow through the fault proxy; the audit; a rerun without faults if it failed."""
        namespace = f"campaign/{flow.replace('+', '-')}-{seed}-{uuid.uuid4().hex[:8]}"
        error = ""
        faults = MIXES[self.mix]
        proxy = FaultProxy(self.registry, faults, seed, 100_000, self.seconds_per_run)
        with _counting_retries() as counted:
            try:
                with anyio.fail_after(self.seconds_per_run):
                    async with proxy:
                        address = f"{proxy.address}/{namespace}"
                        await run_flow(flow, self.make_antrea(), address, self.platforms)
            except Exception as failure:  # any failure is a figure here
                error = _reason(failure)
        after = audit(self.registry, namespace)
        partial = partial_tags(after, self.platforms)
        moved = [name for name in after if multi_arch(name)] if error else []
        if error:
            await run_flow(flow, self.make_antrea(), f"{self.registry}/{namespace}", self.platforms)
            after = audit(self.registry, namespace)
        return CampaignRun(
            flow=flow,
            mix=self.mix,
            seed=seed,
            faults=proxy.stats.faults,
            requests=proxy.stats.requests,
            completed=not error,
            error=error,
            retries=counted.retries,
            pushes=sum(bool(_MANIFEST_PUT.match(line)) for line in proxy.stats.log),
            partial=len(partial),
            moved_on_failure=len(moved),
            converged=digests(after) == reference,
            hits=_hits(proxy.stats.log),
        )
