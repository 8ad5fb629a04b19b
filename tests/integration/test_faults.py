"""Pushes on a bad registry day: the fault proxy in front of the test bed's registries
fails a share of requests (503, 429), cuts blob transfers and delays answers; the merge's
registry client and Dagger's publish retry what is transient, and nothing else."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagger
import httpx
import pytest
from dagger import dag

from ci.core.platforms import Platform, parse_platform
from ci.core.references import Repository
from ci.core.retry import RetryPolicy
from ci.release.push import PublishError, push, push_indexes
from ci.release.registry import OCI_MANIFEST, RegistryClient, RegistryError, http_client
from tests.support.fault_campaign import Campaign
from tests.support.fault_proxy import FaultProxy, Faults
from tests.support.inputs import antrea_checkout, fixture_antrea, ovs_tarball
from tests.support.registry_api import MANIFEST_TYPES, exists, manifest
from tests.support.tarballs import tar_bytes
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

PLATFORMS = (parse_platform("linux/amd64"), parse_platform("linux/arm64"))
MERGE_SEEDS = (11, 12, 13, 14)
MERGE_MIXES = {
    "503s": Faults(error_share=0.3, error_statuses=(503,)),
    "cuts-429s-delays": Faults(
        cut_share=0.5, throttle_share=0.2, retry_after=1, delay_share=0.3, delay_seconds=0.2
    ),
}
DAGGER_SEEDS = (21, 22)
# Short waits where only the decisions matter, not the backoff.
QUICK = RetryPolicy(base_delay=0.05, max_delay=0.2, retry_after_cap=0.2)
# Dagger retries a publish whole, and a cut upload often costs it a second attempt (the
# engine reads the short blob once more): at most two faults per push fit its five attempts.
DAGGER_FAULTS = Faults(error_share=0.5, error_statuses=(503,), cut_share=0.5, max_faults=2)


@dataclass(frozen=True)
class Figure:
    """One run under faults, for the report."""

    test: str
    seed: int
    faults: int
    requests: int
    completed: bool
    retries: int
    pushes: int


FIGURES: list[Figure] = []


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """Print the runs' figures after the module (seen with -s)."""
    yield
    if not FIGURES:
        return
    print("\nfault figures: test seed faults requests completed retries pushes")
    for figure in FIGURES:
        print(f"  {figure}")
    runs = len(FIGURES)
    pushes = sum(f.pushes for f in FIGURES) or 1
    print(
        f"runs {runs}, faults injected {sum(f.faults for f in FIGURES)}, completed "
        f"{sum(f.completed for f in FIGURES)}, mean retries per push "
        f"{sum(f.retries for f in FIGURES) / pushes:.2f}"
    )


def retry_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("retrying ")]


def layer(platform: Platform) -> bytes:
    """A gzipped tar of one small file, the same bytes on every run."""
    data = f"fault proxy test layer for {platform}\n".encode()
    return gzip.compress(tar_bytes({"etc/fault-proxy": data}), mtime=0)


async def put_blob(http: httpx.AsyncClient, registry: str, repository: str, data: bytes) -> str:
    """Push a blob (POST, then PUT of the whole) straight to the registry; its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = await http.post(f"http://{registry}/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = str(started.url.join(started.headers["location"]))
    separator = "&" if "?" in location else "?"
    done = await http.put(f"{location}{separator}digest={digest}", content=data)
    assert done.status_code == 201, done.text
    return digest


async def push_per_arch(registry: str, repository: str, tag: str) -> dict[Platform, str]:
    """A small image per platform under TAG-<arch>, straight to the registry (no proxy), as
    CI matrix jobs push them before the merge; each tag's manifest digest."""
    digests = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for platform in PLATFORMS:
            data = layer(platform)
            config = json.dumps(
                {
                    "architecture": platform.arch,
                    "os": platform.os,
                    "rootfs": {
                        "type": "layers",
                        "diff_ids": ["sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest()],
                    },
                },
                sort_keys=True,
            ).encode()
            entries = []
            for blob, media_type in (
                (config, "application/vnd.oci.image.config.v1+json"),
                (data, "application/vnd.oci.image.layer.v1.tar+gzip"),
            ):
                digest = await put_blob(http, registry, repository, blob)
                entries.append({"mediaType": media_type, "digest": digest, "size": len(blob)})
            document = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": entries[0],
                    "layers": entries[1:],
                }
            ).encode()
            pushed = await http.put(
                f"http://{registry}/v2/{repository}/manifests/{tag}-{platform.arch}",
                content=document,
                headers={"Content-Type": OCI_MANIFEST},
            )
            assert pushed.status_code == 201, pushed.text
            digests[platform] = "sha256:" + hashlib.sha256(document).hexdigest()
    return digests


@pytest.mark.parametrize("mix", sorted(MERGE_MIXES))
@pytest.mark.parametrize("seed", MERGE_SEEDS)
async def test_index_pushes_get_over_transient_failures(
    testbed: OfflineTestBed, capsys: pytest.CaptureFixture[str], mix: str, seed: int
) -> None:
    path = f"faults/merge-{mix}-{uuid.uuid4().hex[:8]}"
    digests = await push_per_arch(testbed.registry, path, "v1")
    per_arch_tags = {platform: f"v1-{platform.arch}" for platform in PLATFORMS}
    async with (
        asyncio.timeout(120),
        FaultProxy(testbed.registry, MERGE_MIXES[mix], seed, 200, 120) as proxy,
    ):
        published = await push_indexes(
            [Repository(proxy.address, path)], per_arch_tags, ["v1", "latest"], []
        )
    retries = retry_lines(capsys.readouterr().err)
    FIGURES.append(
        Figure(
            f"merge {mix}", seed, proxy.stats.faults, proxy.stats.requests, True, len(retries), 2
        )
    )
    # One client, one request at a time: every fault injected cost exactly one retry.
    assert len(retries) == proxy.stats.faults, (retries, proxy.stats.log)
    assert all(f"{proxy.address}/{path}" in line for line in retries)
    assert len(published) == 2
    for reference, tag in zip(published, ["v1", "latest"], strict=True):
        direct = f"{testbed.registry}/{path}:{tag}"
        index = manifest(direct)
        assert reference.endswith("@" + index_digest(direct))
        assert {entry["digest"] for entry in index["manifests"]} == set(digests.values())


def index_digest(reference: str) -> str:
    """The digest of the manifest a reference points at, from the registry's answer."""
    host, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    answer = httpx.get(
        f"http://{host}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES},
        timeout=30,
    )
    return "sha256:" + hashlib.sha256(answer.content).hexdigest()


async def test_the_proxy_relays_chunked_uploads_and_points_locations_at_itself(
    testbed: OfflineTestBed,
) -> None:
    data = bytes(range(256)) * 1200
    delayed = Faults(delay_share=1.0, delay_seconds=0.01)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = f"faults/relay-{uuid.uuid4().hex[:8]}"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 10_000):
            yield data[start : start + 10_000]

    async with (
        asyncio.timeout(60),
        FaultProxy(testbed.registry, delayed, 1, 50, 60) as proxy,
        httpx.AsyncClient(base_url=f"http://{proxy.address}", timeout=30) as http,
    ):
        started = await http.post(f"/v2/{path}/blobs/uploads/")
        location = started.headers["location"]
        assert location.startswith(f"http://{proxy.address}/v2/{path}/blobs/uploads/")
        patched = await http.patch(location, content=chunks())
        assert patched.status_code == 202 and patched.headers["range"] == f"0-{len(data) - 1}"
        location = patched.headers["location"]
        done = await http.put(f"{location}&digest={digest}")
        assert done.status_code == 201
        assert done.headers["location"].startswith(f"http://{proxy.address}/v2/{path}/blobs/")
        read = await http.get(f"/v2/{path}/blobs/{digest}")
        assert read.content == data
    assert proxy.stats.faults == 0 and proxy.stats.delayed == proxy.stats.requests == 4
    direct = httpx.get(f"http://{testbed.registry}/v2/{path}/blobs/{digest}", timeout=30)
    assert direct.content == data


async def test_the_transient_failures_are_seeded_so_a_run_replays(testbed: OfflineTestBed) -> None:
    faults = Faults(error_share=0.3, throttle_share=0.1, retry_after=0, cut_share=0.5)
    runs = []
    for _ in range(2):
        path = f"faults/replay-{uuid.uuid4().hex[:8]}"
        await push_per_arch(testbed.registry, path, "v1")
        outcome = "read"
        async with (
            asyncio.timeout(120),
            FaultProxy(testbed.registry, faults, 5, 200, 120) as proxy,
            http_client(30) as http,
        ):
            client = RegistryClient(http, proxy.address, policy=QUICK, on_retry=lambda _: None)
            try:
                for platform in PLATFORMS:
                    await client.platform_manifest(
                        Repository(proxy.address, path), f"v1-{platform.arch}", platform
                    )
            except RegistryError as error:
                outcome = str(error).replace(path, "PATH").replace(proxy.address, "PROXY")
        # "NUMBER METHOD TARGET DECISION": the same decisions, request after request.
        decisions = [line.split(" ")[1] + " " + line.split(" ")[-1] for line in proxy.stats.log]
        runs.append((decisions, outcome))
    assert runs[0] == runs[1]
    assert any(not line.endswith("forwarded") for line in runs[0][0])


async def test_a_missing_manifest_is_reported_at_once_without_retries(
    testbed: OfflineTestBed, capsys: pytest.CaptureFixture[str]
) -> None:
    path = f"faults/missing-{uuid.uuid4().hex[:8]}"
    await push_per_arch(testbed.registry, path, "v1")
    per_arch_tags = {platform: f"v2-{platform.arch}" for platform in PLATFORMS}
    async with asyncio.timeout(60), FaultProxy(testbed.registry, Faults(), 1, 50, 60) as proxy:
        with pytest.raises(PublishError) as missing:
            await push_indexes([Repository(proxy.address, path)], per_arch_tags, ["v2"], [])
    assert proxy.stats.requests == 1
    assert f"{proxy.address}/{path}" in str(missing.value) and "v2-amd64" in str(missing.value)
    assert not retry_lines(capsys.readouterr().err)

    # After transient failures (seed 1: two 503s first), the 404 still ends it at once.
    faults = Faults(error_share=0.6, error_statuses=(503,))
    async with asyncio.timeout(60), FaultProxy(testbed.registry, faults, 1, 50, 60) as proxy:
        with pytest.raises(PublishError):
            await push_indexes([Repository(proxy.address, path)], per_arch_tags, ["v2"], [])
    assert proxy.stats.faults >= 1 and proxy.stats.requests == proxy.stats.faults + 1
    assert len(retry_lines(capsys.readouterr().err)) == proxy.stats.faults
    FIGURES.append(
        Figure(
            "merge 404", 1, proxy.stats.faults, proxy.stats.requests, False, proxy.stats.faults, 1
        )
    )


async def test_refused_credentials_are_reported_at_once_without_retries(
    testbed: OfflineTestBed,
) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    path = f"faults/refused-{uuid.uuid4().hex[:8]}"
    amd64 = PLATFORMS[0]
    async with (
        asyncio.timeout(60),
        FaultProxy(testbed.auth_registry, Faults(), 1, 50, 60) as proxy,
        http_client(30) as http,
    ):
        client = RegistryClient(http, proxy.address, testbed.auth_user, wrong)
        with pytest.raises(RegistryError) as refused:
            await client.platform_manifest(Repository(proxy.address, path), "v1-amd64", amd64)
    # The challenge, then one request with the credentials: no retry.
    assert proxy.stats.requests == 2
    assert refused.value.refused and client.retries == 0
    message = str(refused.value)
    assert f"{proxy.address}/{path}" in message and "401" in message and "v1-amd64" in message
    assert wrong not in message

    # A 403 (injected) is not retried either.
    forbidden = Faults(error_share=1.0, error_statuses=(403,))
    async with (
        asyncio.timeout(60),
        FaultProxy(testbed.registry, forbidden, 1, 50, 60) as proxy,
        http_client(30) as http,
    ):
        client = RegistryClient(http, proxy.address)
        with pytest.raises(RegistryError) as refused:
            await client.platform_manifest(Repository(proxy.address, path), "v1-amd64", amd64)
    assert proxy.stats.requests == 1 and refused.value.refused and client.retries == 0


@pytest.mark.parametrize("seed", DAGGER_SEEDS)
async def test_dagger_publish_gets_over_503s_and_cut_uploads(
    engine: OfflineTestBed, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    path = f"faults/dagger-{uuid.uuid4().hex[:8]}"
    platform = parse_platform("linux/amd64")
    image = (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(engine.distro_image)
        .with_new_file("/etc/fault-proxy", f"fault proxy test, seed {seed}\n")
    )
    # The engine (host network) reaches the proxy's ephemeral port on loopback, and speaks
    # plain HTTP to any loopback registry, listed in its engine.json or not.
    proxy = FaultProxy(engine.registry, DAGGER_FAULTS, seed, 500, 300)
    published = ""
    try:
        async with asyncio.timeout(300), proxy:
            published = await push({platform: image}, Repository(proxy.address, path), "v1", [])
    finally:
        retries = retry_lines(capsys.readouterr().err)
        sys.stderr.write("".join(f"{line}\n" for line in retries))
        stats = proxy.stats
        FIGURES.append(
            Figure(
                "dagger publish",
                seed,
                stats.faults,
                stats.requests,
                bool(published),
                len(retries),
                1,
            )
        )
    assert proxy.stats.faults > 0, proxy.stats.log
    # Some faults the engine gets over by itself (a cut upload is sent again), others fail
    # the push, which is retried: test_a_push_the_engine_gives_up_on_is_retried shows those.
    digest = published.rpartition("@")[2]
    direct = f"{engine.registry}/{path}"
    assert exists(f"{direct}@{digest}")
    document = manifest(f"{direct}:v1")
    assert index_digest(f"{direct}:v1") == digest
    assert document["layers"], document


async def test_a_push_the_engine_gives_up_on_is_retried_saying_so(
    engine: OfflineTestBed, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first eight requests answered 503: the engine tries each blob's HEAD twice, then
    gives up; the push is retried, one line per retry naming what it pushes, and the image
    arrives."""
    path = f"faults/dagger-retried-{uuid.uuid4().hex[:8]}"
    platform = parse_platform("linux/amd64")
    image = (
        dag.container(platform=dagger.Platform(str(platform)))
        .from_(engine.distro_image)
        .with_new_file("/etc/fault-proxy", f"retried {uuid.uuid4().hex}\n")
    )
    faults = Faults(error_share=1.0, error_statuses=(503,), max_faults=8)
    proxy = FaultProxy(engine.registry, faults, 1, 500, 300)
    async with asyncio.timeout(300), proxy:
        published = await push({platform: image}, Repository(proxy.address, path), "v1", [])
    retries = retry_lines(capsys.readouterr().err)
    assert proxy.stats.faults == 8
    assert 1 <= len(retries) <= 4, retries
    for line in retries:
        assert line.startswith(f"retrying push of {proxy.address}/{path}:v1 (attempt "), line
        assert "503 Service Unavailable" in line
    assert exists(f"{engine.registry}/{path}@{published.rpartition('@')[2]}")


async def test_dagger_publish_refused_is_reported_at_once_without_retries(
    engine: OfflineTestBed, capsys: pytest.CaptureFixture[str]
) -> None:
    path = f"faults/dagger-refused-{uuid.uuid4().hex[:8]}"
    platform = parse_platform("linux/amd64")
    image = dag.container(platform=dagger.Platform(str(platform))).from_(engine.distro_image)
    proxy = FaultProxy(engine.auth_registry, Faults(), 1, 100, 120)
    async with asyncio.timeout(120), proxy:
        with pytest.raises(PublishError) as refused:
            await push({platform: image}, Repository(proxy.address, path), "v1", [])
    assert f"{proxy.address} refused the credentials (anonymous access)" in str(refused.value)
    assert not retry_lines(capsys.readouterr().err)
    assert 0 < proxy.stats.requests < 10


async def test_a_release_under_faults_is_whole_or_invisible_and_a_rerun_converges(
    engine: OfflineTestBed, tmp_path: Path
) -> None:
    """`publish` through the proxy (all flows, many seeds: `benchmarks.run --section faults`)."""
    checkout, tarball = antrea_checkout(tmp_path), ovs_tarball(tmp_path)
    campaign = Campaign(
        engine.registry,
        lambda: fixture_antrea(engine, checkout, tarball),
        ["linux/amd64", "linux/arm64"],
    )
    reference = await campaign.reference("publish")
    run = await campaign.run("publish", 31, reference)
    print(run.line())
    assert run.faults > 0
    assert run.partial == 0 and run.moved_on_failure == 0
    assert run.converged, run
