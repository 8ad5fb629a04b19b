"""Publishing multi-arch images, per-arch pushes and their merge (issue 5)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio
import dagger
import pytest
from dagger import dag

from ci.core.gate import GateFailure
from ci.core.references import ImageReferenceError
from ci.images.builder import BuildFailure
from ci.release.push import PublishError
from tests.support.inputs import (
    ANTREA_CI,
    FIXTURES,
    antrea_checkout,
    fixture_antrea,
    fixture_options,
    ovs_tarball,
)
from tests.support.registry_api import (
    Credentials,
    blob,
    exists,
    image_blobs,
    index_platforms,
    manifest,
)
from tests.support.releases import held, occupy
from tests.support.testbed import OfflineTestBed, engine_container

pytestmark = pytest.mark.engine

PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
EXPECTED = {("linux", "amd64", None), ("linux", "arm64", None), ("linux", "arm", "v7")}
IMAGES = ("antrea-agent-ubuntu", "antrea-controller-ubuntu", "flow-aggregator")


def namespace(engine: OfflineTestBed, name: str) -> str:
    return f"{engine.registry}/{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("publish")


@pytest.fixture(scope="module")
def checkout(workdir: Path) -> Path:
    return antrea_checkout(workdir)


@pytest.fixture(scope="module")
def tarball(workdir: Path) -> Path:
    return ovs_tarball(workdir)


async def test_publish_to_two_namespaces_lists_every_platform(
    engine: OfflineTestBed, checkout: Path, tarball: Path
) -> None:
    namespaces = [namespace(engine, "docker-io"), namespace(engine, "ghcr-io")]
    published = await fixture_antrea(engine, checkout, tarball).publish(namespaces, "v2.7.0-test")
    assert len(published) == len(IMAGES) * len(namespaces)
    for reference in published:
        assert "@sha256:" in reference
        assert index_platforms(reference) == EXPECTED
        for entry in manifest(reference)["manifests"]:
            image = manifest(f"{reference.split('@')[0]}@{entry['digest']}")
            config = blob(reference, image["config"]["digest"])
            assert config["architecture"] == entry["platform"]["architecture"]
            assert config.get("variant") == entry["platform"].get("variant")
            # The per-arch tags the index was made of stay, for CI jobs and for reruns.
            suffix = {"amd64": "amd64", "arm64": "arm64", "arm": "arm"}
            per_arch = f"{reference.split(':v2.7.0')[0]}:v2.7.0-test-"
            assert exists(per_arch + suffix[entry["platform"]["architecture"]])


async def test_publishing_the_same_release_again_pushes_nothing_and_says_so(
    engine: OfflineTestBed, checkout: Path, tarball: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = [namespace(engine, "again")]
    first = await fixture_antrea(engine, checkout, tarball).publish(
        target, "v2.7.0", ["linux/amd64"]
    )
    capfd.readouterr()
    again = await fixture_antrea(engine, checkout, tarball).publish(
        target, "v2.7.0", ["linux/amd64"]
    )
    assert again == first
    # Neither the per-arch tags nor the multi-arch ones are pushed again: the manifests
    # this run would push were found under them, read from the images before any push.
    unchanged = [line for line in capfd.readouterr().err.splitlines() if "unchanged" in line]
    assert len(unchanged) == 2 * len(IMAGES)
    assert sum(":v2.7.0-amd64 already is sha256:" in line for line in unchanged) == len(IMAGES)


async def test_a_release_tag_does_not_move_unless_overwrite_is_given(
    engine: OfflineTestBed, checkout: Path, tarball: Path
) -> None:
    target = namespace(engine, "guard")
    antrea = fixture_antrea(engine, checkout, tarball)

    async def push_per_arch(content: str) -> None:
        for name in IMAGES:
            await (
                dag.container(platform=dagger.Platform("linux/amd64"))
                .from_(engine.distro_image)
                .with_new_file("/content", content)
                .publish(f"{target}/{name}:v9.0.0-amd64")
            )

    await push_per_arch("first")
    first = await antrea.merge([target], "v9.0.0", ["linux/amd64"])
    await push_per_arch("second")
    with pytest.raises(PublishError, match="pass --overwrite") as refused:
        await antrea.merge([target], "v9.0.0", ["linux/amd64"], latest=True)
    assert str(refused.value).count(":v9.0.0 is sha256:") == len(IMAGES)
    for reference in first:
        assert manifest(reference.split("@")[0]) == manifest(reference)
    for name in IMAGES:
        assert not exists(f"{target}/{name}:latest")

    moved = await antrea.merge([target], "v9.0.0", ["linux/amd64"], overwrite=True)
    assert len(moved) == len(IMAGES) and not set(moved) & set(first)
    for reference in moved:
        assert manifest(reference.split("@")[0]) == manifest(reference)


async def test_a_refused_publish_pushes_nothing_and_overwrite_moves_every_tag(
    engine: OfflineTestBed, checkout: Path, tarball: Path
) -> None:
    """Another release holds v9.1.0: publish reads every tag it would write, per-arch ones
    included, and refuses before its first push; --overwrite moves them all."""
    target = namespace(engine, "refused")
    before = await occupy(engine, target, "v9.1.0", "linux/amd64")
    assert len(before) == 2 * len(IMAGES)
    antrea = fixture_antrea(engine, checkout, tarball)
    with pytest.raises(PublishError, match="nothing was pushed") as refused:
        await antrea.publish([target], "v9.1.0", ["linux/amd64"])
    assert str(refused.value).count(" is sha256:") == 2 * len(IMAGES)
    assert held(target, "v9.1.0", "linux/amd64") == before
    with pytest.raises(PublishError, match="nothing was pushed"):
        await antrea.publish_arch([target], "v9.1.0", "linux/amd64")
    assert held(target, "v9.1.0", "linux/amd64") == before

    moved = await antrea.publish([target], "v9.1.0", ["linux/amd64"], overwrite=True)
    after = held(target, "v9.1.0", "linux/amd64")
    assert set(after) == set(before)
    assert not set(after.values()) & set(before.values())
    for reference in moved:
        assert after[reference.split("@")[0]] == reference.split("@")[1]


async def test_the_cli_refuses_to_move_a_release_and_moves_it_with_overwrite(
    engine: OfflineTestBed, checkout: Path, tarball: Path, tmp_path: Path
) -> None:
    target = namespace(engine, "cli-refused")
    before = await occupy(engine, target, "v9.2.0", "linux/amd64")
    command = [
        *[ANTREA_CI, "publish", *fixture_options(checkout, tarball), "-p", "linux/amd64"],
        *["--namespace", target, "--tag", "v9.2.0", "--timings", str(tmp_path / "t.json")],
        *engine.image_options,
    ]
    refused = await anyio.run_process(command, check=False)
    stderr = refused.stderr.decode()
    assert refused.returncode == 1, stderr
    assert "error: release tags already hold other content, nothing was pushed" in stderr
    assert held(target, "v9.2.0", "linux/amd64") == before

    moved = await anyio.run_process([*command, "--overwrite"], check=False)
    assert moved.returncode == 0, moved.stderr.decode()
    after = held(target, "v9.2.0", "linux/amd64")
    assert set(after) == set(before) and not set(after.values()) & set(before.values())


async def test_nothing_is_pushed_when_one_platform_fails(
    engine: OfflineTestBed, workdir: Path, tarball: Path
) -> None:
    broken = antrea_checkout(workdir)
    shutil.copytree(FIXTURES / "broken-on-arm", broken, dirs_exist_ok=True)
    target = namespace(engine, "broken")
    with pytest.raises(BuildFailure) as failed:
        await fixture_antrea(engine, broken, tarball).publish([target], "v2.7.0-broken")
    assert "linux/arm/v7" in str(failed.value)
    assert "linux/amd64" not in str(failed.value)
    for image in IMAGES:
        assert not exists(f"{target}/{image}:v2.7.0-broken")


async def test_the_gate_refuses_a_release_whose_arm_agent_does_not_start(
    engine: OfflineTestBed, workdir: Path, tarball: Path
) -> None:
    """The agent builds for every platform but exits at start on arm/v7: the gate, which
    runs every image's binaries on their platform, refuses; not even amd64 is pushed."""
    failing = antrea_checkout(workdir)
    shutil.copytree(FIXTURES / "fails-on-arm", failing, dirs_exist_ok=True)
    target = namespace(engine, "gated")
    with pytest.raises(GateFailure) as refused:
        await fixture_antrea(engine, failing, tarball).publish(
            [target], "v2.7.0-gated", ["linux/amd64", "linux/arm/v7"]
        )
    assert str(refused.value) == (
        "nothing was published: the release gate failed for linux/arm/v7 antrea-agent-ubuntu: "
        "antrea-agent --version: exit code 3: antrea-agent: this build does not start on arm"
    )
    for image in IMAGES:
        for tag in ("v2.7.0-gated", "v2.7.0-gated-amd64", "v2.7.0-gated-arm"):
            assert not exists(f"{target}/{image}:{tag}")


async def test_the_gate_runs_the_unit_tests_it_is_given_on_the_platform_published(
    engine: OfflineTestBed, workdir: Path, tarball: Path
) -> None:
    """gate_tests runs a package's unit tests on the platform being published (arm64,
    emulated here) before any push: failing tests refuse the release, named; a slice that
    passes lets the same tree through."""
    tree = antrea_checkout(workdir)
    shutil.copytree(FIXTURES / "failing-tests/pkg", tree / "pkg", dirs_exist_ok=True)
    target = namespace(engine, "gate-tests")
    with pytest.raises(GateFailure) as refused:
        await fixture_antrea(engine, tree, tarball).publish_arch(
            [target], "v2.7.0-tests", "linux/arm64", gate_tests="./pkg/util/broken"
        )
    message = str(refused.value)
    assert message.startswith("nothing was published: the release gate failed for linux/arm64 ")
    assert ": go test ./pkg/util/broken: 2 failed: " in message
    assert "broken.TestHalfOfThreeIsWrong" in message and "broken.TestPanics" in message
    assert message.count("failed for") == 1 and ";" not in message
    for image in IMAGES:
        assert not exists(f"{target}/{image}:v2.7.0-tests-arm64")

    pushed = await fixture_antrea(engine, tree, tarball).publish_arch(
        [target], "v2.7.0-tests", "linux/arm64", gate_tests="./pkg/version/..."
    )
    names = {reference.split("@")[0].rsplit("/", 1)[-1] for reference in pushed}
    assert names == {f"{image}:v2.7.0-tests-arm64" for image in IMAGES}


async def test_merge_indexes_the_images_the_per_arch_jobs_pushed(
    engine: OfflineTestBed, checkout: Path, tarball: Path
) -> None:
    target = namespace(engine, "matrix")
    pushed: dict[str, str] = {}
    for platform in PLATFORMS:
        for reference in await fixture_antrea(engine, checkout, tarball).publish_arch(
            [target], "v2.7.0", platform
        ):
            pushed[reference.split("@")[0]] = reference
    assert f"{target}/antrea-agent-ubuntu:v2.7.0-arm" in pushed

    merged = await fixture_antrea(engine, checkout, tarball).merge([target], "v2.7.0", latest=True)
    assert len(merged) == len(IMAGES) * 2
    suffixes = {"amd64": "amd64", "arm64": "arm64", "arm": "arm"}
    for reference in merged:
        assert index_platforms(reference) == EXPECTED
        image = reference.split("@")[0].rsplit(":", 1)[0]
        for entry in manifest(reference)["manifests"]:
            per_arch = pushed[f"{image}:v2.7.0-{suffixes[entry['platform']['architecture']]}"]
            assert entry["digest"] == per_arch.split("@")[1]


async def test_merge_refuses_when_a_per_arch_image_is_missing(
    engine: OfflineTestBed, checkout: Path, tarball: Path
) -> None:
    target = namespace(engine, "partial")
    await fixture_antrea(engine, checkout, tarball).publish_arch([target], "v2.7.0", "linux/amd64")
    with pytest.raises(PublishError) as refused:
        await fixture_antrea(engine, checkout, tarball).merge(
            [target], "v2.7.0", ["linux/amd64", "linux/arm64"]
        )
    assert "v2.7.0-arm64" in str(refused.value)
    for image in IMAGES:
        assert not exists(f"{target}/{image}:v2.7.0")


async def test_a_wrong_password_is_one_clear_error_and_pushes_nothing(
    engine: OfflineTestBed, checkout: Path, tarball: Path
) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    target = f"{engine.auth_registry}/refused-{uuid.uuid4().hex[:8]}"
    antrea = fixture_antrea(engine, checkout, tarball).with_registry_auth(
        engine.auth_registry, engine.auth_user, dag.set_secret("wrong-password", wrong)
    )
    with pytest.raises(PublishError) as refused:
        await antrea.publish([target], "v2.7.0", ["linux/amd64"])
    message = str(refused.value)
    assert engine.auth_registry in message and "credentials" in message
    assert wrong not in message
    credentials = Credentials(engine.auth_user, engine.auth_password)
    for image in IMAGES:
        assert not exists(f"{target}/{image}:v2.7.0", credentials)

    allowed = fixture_antrea(engine, checkout, tarball).with_registry_auth(
        engine.auth_registry,
        engine.auth_user,
        dag.set_secret("right-password", engine.auth_password),
    )
    published = await allowed.publish_arch([target], "v2.7.0", "linux/amd64")
    assert all(exists(reference, credentials) for reference in published)

    with pytest.raises(PublishError) as merge_refused:
        await antrea.merge([target], "v2.7.0", ["linux/amd64"])
    merge_message = str(merge_refused.value)
    assert engine.auth_registry in merge_message and wrong not in merge_message
    merged = await allowed.merge([target], "v2.7.0", ["linux/amd64"])
    assert all(exists(reference, credentials) for reference in merged)


@pytest.mark.parametrize(
    ("namespaces", "tag"),
    [(["Bad/Namespace"], "v1"), (["127.0.0.1:5310/ok"], "bad tag"), (["127.0.0.1:5310/ok"], ".v1")],
)
async def test_invalid_references_are_refused_before_building(
    engine: OfflineTestBed, namespaces: list[str], tag: str, tarball: Path
) -> None:
    # The source is not an Antrea tree: building would fail with another error.
    not_antrea = FIXTURES / "ovs-mini"
    with pytest.raises(ImageReferenceError):
        await fixture_antrea(engine, not_antrea, tarball).publish(namespaces, tag)


async def test_build_pulls_base_images_after_publish_base(
    engine: OfflineTestBed,
    checkout: Path,
    tarball: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    platform = "linux/arm64"
    bases = namespace(engine, "bases")
    published = await fixture_antrea(engine, checkout, tarball).publish_base(bases, [platform])
    assert [reference.split(":")[1].split("/")[-1] for reference in published] == [
        "antrea-openvswitch",
        "antrea-base",
        "flow-aggregator-base",
    ]
    assert all(exists(reference) for reference in published)

    timings = {}
    for label, base_registry in (("built here", ""), ("pulled", bases)):
        antrea = fixture_antrea(engine, checkout, tarball)
        antrea.base_registry = base_registry
        started = time.monotonic()
        images = await antrea.build(platform)
        await images.agent.sync()
        timings[label] = time.monotonic() - started
        assert images.emulated and images.bases_from == base_registry
        if base_registry:
            # The pulled images are the published ones: same tag, same digest. (The engine
            # names an image by the first reference it pulled that digest under, which may
            # be an earlier run's namespace.)
            for container, reference in zip((images.ovs, images.base), published[:2], strict=True):
                pulled = await container.image_ref()
                tag_and_digest = reference.rsplit("/", 1)[1]
                assert pulled.endswith(tag_and_digest), (pulled, reference)
    print(
        f"\n{platform} build with bases " + ", ".join(f"{k}: {v:.1f}s" for k, v in timings.items())
    )
    # The flow-aggregator image is made on the published base: its layers, then its own.
    await images.flow_aggregator.export(str(tmp_path / "flow-aggregator.tar"))
    with tarfile.open(tmp_path / "flow-aggregator.tar") as archive:
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
        blob = archive.extractfile(f"blobs/{index['manifests'][0]['digest'].replace(':', '/')}")
        layers = [layer["digest"] for layer in json.load(blob)["layers"]]  # type: ignore[arg-type]
    published_base = [layer["digest"] for layer in manifest(published[2])["layers"]]
    assert layers[: len(published_base)] == published_base
    assert len(layers) > len(published_base)

    unreachable = fixture_antrea(engine, checkout, tarball)
    unreachable.base_registry = "127.0.0.1:9/nowhere"
    images = await unreachable.build(platform)
    await images.agent.sync()
    assert "warning: base registry unusable" in capsys.readouterr().err


async def test_cli_publish_arch_then_merge_with_a_password_from_the_environment(
    engine: OfflineTestBed, checkout: Path, tarball: Path, tmp_path: Path
) -> None:
    started = datetime.now(UTC).isoformat()
    target = f"{engine.auth_registry}/cli-{uuid.uuid4().hex[:8]}"
    auth = ["--auth", f"{engine.auth_registry}={engine.auth_user}:env:REGISTRY_PASSWORD"]
    env = {**os.environ, "REGISTRY_PASSWORD": engine.auth_password}
    summary = tmp_path / "summary.md"
    common = ["--namespace", target, "--tag", "v2.7.0", *auth, "--summary", str(summary)]
    inputs = fixture_options(checkout, tarball)

    pushed = await anyio.run_process(
        [
            *[ANTREA_CI, "publish-arch", *common, *inputs, "--platform", "linux/amd64"],
            *["--timings", str(tmp_path / "publish-arch.json")],
        ],
        env=env,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr.decode()
    per_arch = pushed.stdout.decode().split()
    assert [ref.split("@")[0] for ref in per_arch] == [
        f"{target}/{image}:v2.7.0-amd64" for image in IMAGES
    ]
    merged = await anyio.run_process(
        [
            *[ANTREA_CI, "merge", *common, "--platform", "linux/amd64"],
            *["--timings", str(tmp_path / "merge.json")],
        ],
        env=env,
        check=False,
    )
    assert merged.returncode == 0, merged.stderr.decode()
    credentials = Credentials(engine.auth_user, engine.auth_password)
    for reference, arch_reference in zip(merged.stdout.decode().split(), per_arch, strict=True):
        (entry,) = manifest(reference, credentials)["manifests"]
        assert entry["digest"] == arch_reference.split("@")[1]
        # The job summary lists the index written, tag by tag.
        name, _, digest = reference.partition("@")
        assert f"| `{name.rpartition(':')[0]}` | `v2.7.0` | `{digest}` | pushed |" in (
            summary.read_text()
        )
    # The password, and the Basic authorization made of it, appear in no output of the run.
    secret = engine.auth_password.encode()
    basic = base64.b64encode(f"{engine.auth_user}:{engine.auth_password}".encode())
    outputs = {
        "publish-arch stdout": pushed.stdout,
        "publish-arch stderr": pushed.stderr,
        "merge stdout": merged.stdout,
        "merge stderr": merged.stderr,
        "publish-arch timings": (tmp_path / "publish-arch.json").read_bytes(),
        "merge timings": (tmp_path / "merge.json").read_bytes(),
        "both summaries": summary.read_bytes(),
        "engine log": subprocess.run(
            ["docker", "logs", "--since", started, engine_container()],
            capture_output=True,
            check=True,
        ).stdout,
    }
    for reference in merged.stdout.decode().split():
        for digest, content in image_blobs(reference, credentials).items():
            outputs[f"{reference} {digest}"] = content
    assert len(outputs) > 10
    leaks = [name for name, content in outputs.items() if secret in content or basic in content]
    assert leaks == []
    stages = json.loads((tmp_path / "publish-arch.json").read_text())["stages"]
    assert [(s["platform"], s["stage"], s["emulated"]) for s in stages] == [
        ("linux/amd64", "publish-arch", False)
    ]


async def test_concurrent_per_arch_jobs_then_concurrent_merges_agree(
    engine: OfflineTestBed, checkout: Path, tarball: Path
) -> None:
    target = namespace(engine, "concurrent")
    inputs = fixture_options(checkout, tarball)
    common = ["--namespace", target, "--tag", "v2.7.0"]
    results: dict[str, subprocess.CompletedProcess[bytes]] = {}

    async def run(name: str, command: list[str]) -> None:
        results[name] = await anyio.run_process([ANTREA_CI, *command], check=False)

    # Three CI matrix jobs at once against one repository, as three sessions.
    async with anyio.create_task_group() as group:
        for platform in PLATFORMS:
            group.start_soon(run, platform, ["publish-arch", *common, *inputs, "-p", platform])
    for platform in PLATFORMS:
        assert results[platform].returncode == 0, results[platform].stderr.decode()
    # Two merges at once: both push (or find) the same indexes.
    async with anyio.create_task_group() as group:
        for name in ("merge-1", "merge-2"):
            group.start_soon(run, name, ["merge", *common])
    merged = [results[name].stdout.decode().split() for name in ("merge-1", "merge-2")]
    assert all(results[name].returncode == 0 for name in ("merge-1", "merge-2"))
    assert merged[0] == merged[1] and len(merged[0]) == len(IMAGES)
    for reference in merged[0]:
        assert index_platforms(reference) == EXPECTED
        assert manifest(reference.split("@")[0]) == manifest(reference)
