"""The README's `dagger call` lines run as written with the official CLI (issue 13), the
test bed's seed images and fixtures added as constructor options."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import urllib.request
import uuid
from pathlib import Path

import pytest

from ci.core.catalog import IMAGE_NAMES, RELEASED
from ci.core.matrix import unit_test_check
from ci.core.platforms import default_platforms, parse_platform
from ci.core.timings import image_tarball_name
from tests.support.inputs import (
    ANTREA_CI,
    FIXTURES,
    WRAPPER_FIXTURE,
    antrea_checkout,
    fixture_options,
    ovs_tarball,
)
from tests.support.registry_api import Credentials, index_platforms, tag_digest
from tests.support.releases import held, occupy
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# The first call loads the module: the Python SDK's runtime is built, this project installed.
FIRST_LOAD_SECONDS = 1800
ARM64_AND_AMD64 = {("linux", "amd64", None), ("linux", "arm64", None)}


def dagger(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """The official CLI the test bed announced, in this repository (the module) unless
    another working directory is given."""
    cli = os.environ["_EXPERIMENTAL_DAGGER_CLI_BIN"]
    return subprocess.run(
        [cli, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=FIRST_LOAD_SECONDS,
    )


def offline_options(testbed: OfflineTestBed, source: Path, tarball: Path) -> list[str]:
    """The constructor options the offline test bed adds to the README's lines."""
    return [
        *["--source", str(source), "--ovs-tarball", str(tarball)],
        *["--iptables-wrapper-source", str(WRAPPER_FIXTURE)],
        *testbed.image_options,
        # The test bed's registries listen on this machine's loopback.
        "--local-registries",
        f"tcp://{testbed.registry},tcp://{testbed.auth_registry}",
    ]


def readme_functions() -> list[str]:
    """The functions README's `dagger call` reference table lists."""
    table = README.split("## `dagger call` reference", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z-]+)[ `]", table, re.MULTILINE)


def test_dagger_functions_lists_every_function_with_its_doc() -> None:
    listed = dagger("functions")
    assert listed.returncode == 0, listed.stderr
    rows = [line.strip().split(maxsplit=1) for line in listed.stdout.splitlines()[1:]]
    names = {row[0]: row[1] if len(row) > 1 else "" for row in rows if row}
    missing = [name for name in readme_functions() if name not in names]
    assert not missing, listed.stdout
    assert all(names[name].strip() for name in readme_functions()), listed.stdout


def test_build_agent_export_for_arm64(testbed: OfflineTestBed, tmp_path: Path) -> None:
    options = offline_options(testbed, antrea_checkout(tmp_path), ovs_tarball(tmp_path))
    path = tmp_path / "antrea-agent-arm64.tar"
    call = ["call", *options, "build", "--platform", "linux/arm64", "agent"]
    exported = dagger(*call, "export", "--path", str(path))
    assert exported.returncode == 0, exported.stderr
    with tarfile.open(path) as archive:
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
        (manifest,) = index["manifests"]
        blob = archive.extractfile(f"blobs/sha256/{manifest['digest'].split(':')[1]}")
        config_digest = json.load(blob)["config"]["digest"]  # type: ignore[arg-type]
        config = json.load(archive.extractfile(f"blobs/sha256/{config_digest.split(':')[1]}"))  # type: ignore[arg-type]
    assert (config["os"], config["architecture"]) == ("linux", "arm64")


def manifest_digest(tarball: Path) -> str:
    """The digest of the one image manifest an OCI tarball holds."""
    with tarfile.open(tarball) as archive:
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
    (manifest,) = index["manifests"]
    return str(manifest["digest"])


def test_dagger_call_and_antrea_ci_build_the_same_image(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    """The two fronts share the engine's cache: the same inputs give the same agent image,
    layer for layer (its manifest names the layers and the configuration)."""
    checkout, tarball = antrea_checkout(tmp_path), ovs_tarball(tmp_path)
    built = subprocess.run(
        [
            *[ANTREA_CI, "build", *fixture_options(checkout, tarball), "-p", "linux/amd64"],
            *testbed.image_options,
            *["--output", str(tmp_path / "antrea-ci")],
        ],
        capture_output=True,
        text=True,
        timeout=FIRST_LOAD_SECONDS,
    )
    assert built.returncode == 0, built.stderr
    called = tmp_path / "dagger-call-agent.tar"
    options = offline_options(testbed, checkout, tarball)
    exported = dagger(
        *["call", *options, "build", "--platform", "linux/amd64", "agent"],
        *["export", "--path", str(called)],
    )
    assert exported.returncode == 0, exported.stderr
    by_cli = tmp_path / "antrea-ci" / image_tarball_name(IMAGE_NAMES["agent"], "linux/amd64")
    assert manifest_digest(called) == manifest_digest(by_cli)


def test_test_passes_and_names_the_failed_tests_of_a_failing_tree(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    tarball = ovs_tarball(tmp_path)
    passing = offline_options(testbed, antrea_checkout(tmp_path), tarball)
    passed = dagger("call", *passing, "test", "--platform", "linux/amd64", "summary")
    assert passed.returncode == 0, passed.stderr
    assert "passed" in passed.stdout

    failing_tree = antrea_checkout(tmp_path / "failing")
    shutil.copytree(FIXTURES / "failing-tests/pkg", failing_tree / "pkg", dirs_exist_ok=True)
    failing = offline_options(testbed, failing_tree, tarball)
    failed = dagger("call", *failing, "test", "--platform", "linux/amd64", "summary")
    assert failed.returncode != 0
    assert "TestHalfOfThreeIsWrong" in failed.stdout + failed.stderr


def test_publish_with_registry_auth_lists_every_platform(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    options = offline_options(testbed, antrea_checkout(tmp_path), ovs_tarball(tmp_path))
    namespace = f"{testbed.auth_registry}/dagger-call-{uuid.uuid4().hex[:8]}"
    published = dagger(
        "call", *options,
        "with-registry-auth", "--address", testbed.auth_registry,
        "--username", testbed.auth_user, "--secret", "env:ANTREA_CI_TEST_PASSWORD",
        "publish", "--namespaces", namespace, "--tag", "v2.7.0",
        "--platforms", "linux/amd64,linux/arm64",
        env={"ANTREA_CI_TEST_PASSWORD": testbed.auth_password},
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert testbed.auth_password not in published.stdout + published.stderr
    agent = f"{namespace}/antrea-agent-ubuntu:v2.7.0"
    credentials = Credentials(testbed.auth_user, testbed.auth_password)
    assert index_platforms(agent, credentials) == ARM64_AND_AMD64


def test_publish_arch_then_merge_publishes_the_digests_antrea_ci_publish_does(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    """The module front, a job per platform and a merge, against the CLI's one command on
    the same inputs: the same index digests (reproducible images, one definition)."""
    checkout, tarball = antrea_checkout(tmp_path), ovs_tarball(tmp_path)
    options = offline_options(testbed, checkout, tarball)
    namespace = f"{testbed.registry}/dagger-call-{uuid.uuid4().hex[:8]}"
    for platform in ("linux/amd64", "linux/arm64"):
        pushed = dagger(
            "call", *options, "publish-arch", "--namespaces", namespace,
            "--tag", "v2.7.0", "--platform", platform,
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stderr
    merged = dagger(
        "call", *options, "merge", "--namespaces", namespace, "--tag", "v2.7.0",
        "--platforms", "linux/amd64,linux/arm64",
    )  # fmt: skip
    assert merged.returncode == 0, merged.stderr
    assert index_platforms(f"{namespace}/antrea-agent-ubuntu:v2.7.0") == ARM64_AND_AMD64
    other = f"{testbed.registry}/antrea-ci-{uuid.uuid4().hex[:8]}"
    cli = subprocess.run(
        [
            ANTREA_CI, "publish", *fixture_options(checkout, tarball),
            *testbed.image_options,
            "--namespace", other, "--tag", "v2.7.0",
            "--platform", "linux/amd64", "--platform", "linux/arm64",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr[-3000:]
    for image in RELEASED:
        name = IMAGE_NAMES[image]
        ours, theirs = (tag_digest(f"{n}/{name}:v2.7.0") for n in (namespace, other))
        assert ours is not None and ours == theirs, name


async def test_publish_refuses_to_move_a_release_then_moves_it_with_overwrite(
    engine: OfflineTestBed, tmp_path: Path
) -> None:
    options = offline_options(engine, antrea_checkout(tmp_path), ovs_tarball(tmp_path))
    namespace = f"{engine.registry}/dagger-call-{uuid.uuid4().hex[:8]}"
    before = await occupy(engine, namespace, "v9.3.0", "linux/amd64")
    publish = [
        *["call", *options, "publish", "--namespaces", namespace, "--tag", "v9.3.0"],
        *["--platforms", "linux/amd64"],
    ]
    refused = dagger(*publish)
    assert refused.returncode != 0
    assert "release tags already hold other content, nothing was pushed" in refused.stderr
    assert held(namespace, "v9.3.0", "linux/amd64") == before
    moved = dagger(*publish, "--overwrite")
    assert moved.returncode == 0, moved.stderr
    after = held(namespace, "v9.3.0", "linux/amd64")
    assert set(after) == set(before) and not set(after.values()) & set(before.values())


def test_build_saves_and_restores_the_go_cache_through_a_registry(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    """The module front's Go cache: saved beside the images after the build, restored by
    the next call into new volumes; the same agent image either way. A directory given as
    --cache-from is refused, saying what to give instead."""
    options = offline_options(testbed, antrea_checkout(tmp_path), ovs_tarball(tmp_path))
    repository = f"{testbed.registry}/dagger-call-go-cache-{uuid.uuid4().hex[:8]}"
    agents: list[str] = []
    for cache in (["--cache-to", repository], ["--cache-from", repository]):
        agent = tmp_path / f"agent-{len(agents)}.tar"
        call = ["call", *options, *cache, "build", "--platform", "linux/amd64", "agent"]
        done = dagger(*call, "export", "--path", str(agent))
        assert done.returncode == 0, done.stderr
        agents.append(manifest_digest(agent))
        if cache[0] == "--cache-from":
            assert "warning: go cache" not in done.stdout + done.stderr
    assert agents[0] == agents[1]
    tags = json.loads(
        urllib.request.urlopen(f"http://{repository.replace('/', '/v2/', 1)}/tags/list").read()
    )
    assert len(tags["tags"]) == 2  # the entry's name and its prefix's newest
    refused = dagger(
        "call",
        *options,
        "--cache-from",
        str(tmp_path),
        "build",
        "--platform",
        "linux/amd64",
        "platform",
    )
    assert refused.returncode != 0
    assert "--cache-from-dir" in refused.stdout + refused.stderr


# What `dagger check -l` lists: this repository's check and, by the name the CI matrix
# gives it, the unit tests of each configured platform.
CHECKS = {
    "antrea:repository",
    *(f"antrea:{unit_test_check(platform)}" for platform in default_platforms()),
}


def test_dagger_check_lists_the_checks_of_each_platform_and_of_this_repository() -> None:
    listed = dagger("check", "-l")
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert names == CHECKS, listed.stdout


def _check_in(workdir: Path, testbed: OfflineTestBed, tree: Path) -> list[str]:
    """`dagger check` of this module from workdir, whose .env gives the constructor the
    test bed's options (dagger check takes no constructor flags)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / ".env").write_text(
        f"ANTREA_SOURCE={tree}\n"
        f"ANTREA_DISTROIMAGE={testbed.distro_image}\n"
        f"ANTREA_GOIMAGE={testbed.go_image}\n"
    )
    return ["-m", str(ROOT), "check"]


AMD64_CHECK = unit_test_check(parse_platform("linux/amd64"))


def test_dagger_check_runs_a_platforms_unit_tests_and_names_the_failed_ones(
    testbed: OfflineTestBed, tmp_path: Path
) -> None:
    passing = tmp_path / "passing"
    command = _check_in(passing, testbed, antrea_checkout(tmp_path))
    passed = dagger(*command, AMD64_CHECK, cwd=passing)
    assert passed.returncode == 0, passed.stderr

    failing_tree = antrea_checkout(tmp_path / "failing-tree")
    shutil.copytree(FIXTURES / "failing-tests/pkg", failing_tree / "pkg", dirs_exist_ok=True)
    failing = tmp_path / "failing"
    failed = dagger(
        *_check_in(failing, testbed, failing_tree), "unit-tests:linux-amd64", cwd=failing
    )
    assert failed.returncode != 0
    assert "TestHalfOfThreeIsWrong" in failed.stdout + failed.stderr


def test_dagger_check_runs_this_repositorys_lint_and_engine_less_tests() -> None:
    checked = dagger("check", "repository")
    assert checked.returncode == 0, checked.stdout + checked.stderr
