"""The offline test bed gives a real engine, emulation and registries (issue 2)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import dagger
import pytest
from dagger import dag

from ci.core.versions import pins
from tests.support.disk_usage import engine_cache_usage
from tests.support.registry_api import Credentials, blob, exists, index_platforms, manifest
from tests.support.testbed import OfflineTestBed, up_exports

pytestmark = pytest.mark.engine

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_PLATFORMS = {
    "linux/amd64": "x86_64",
    "linux/arm64": "aarch64",
    "linux/arm/v7": "armv7l",
}


def _unique(name: str) -> str:
    return f"testbed/{name}:{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize(("platform", "machine"), SEED_PLATFORMS.items())
async def test_containers_run_on_each_platform(
    engine: OfflineTestBed, platform: str, machine: str
) -> None:
    uname = await (
        dag.container(platform=dagger.Platform(platform))
        .from_(engine.distro_image)
        .with_exec(["uname", "-m"])
        .stdout()
    )
    assert uname.strip() == machine


@pytest.mark.parametrize("platform", SEED_PLATFORMS)
async def test_go_builder_runs_on_each_platform(engine: OfflineTestBed, platform: str) -> None:
    goarch = platform.split("/")[1]
    version = await (
        dag.container(platform=dagger.Platform(platform))
        .from_(engine.go_image)
        .with_exec(["go", "version"])
        .stdout()
    )
    assert version.startswith("go version go")
    assert version.strip().endswith(f"linux/{goarch}")


async def test_multi_platform_publish_lists_exactly_the_platforms(engine: OfflineTestBed) -> None:
    variants = [
        dag.container(platform=dagger.Platform(platform))
        .from_(engine.distro_image)
        .with_new_file("/etc/built-for", platform)
        for platform in SEED_PLATFORMS
    ]
    published = await dag.container().publish(
        f"{engine.registry}/{_unique('multi')}", platform_variants=variants
    )

    assert index_platforms(published) == {
        ("linux", "amd64", None),
        ("linux", "arm64", None),
        ("linux", "arm", "v7"),
    }
    for entry in manifest(published)["manifests"]:
        image = manifest(f"{published.split('@')[0]}@{entry['digest']}")
        config = blob(published, image["config"]["digest"])
        assert config["architecture"] == entry["platform"]["architecture"]


async def test_protected_registry_refuses_a_wrong_password(engine: OfflineTestBed) -> None:
    reference = f"{engine.auth_registry}/{_unique('refused')}"
    wrong = "not-the-password-" + uuid.uuid4().hex
    image = (
        dag.container()
        .from_(engine.distro_image)
        .with_registry_auth(engine.auth_registry, engine.auth_user, dag.set_secret("wrong", wrong))
    )
    with pytest.raises(dagger.QueryError) as refused:
        await image.publish(reference)
    message = str(refused.value)
    assert "401" in message or "unauthorized" in message.lower()
    assert wrong not in message
    credentials = Credentials(engine.auth_user, engine.auth_password)
    assert not exists(reference, credentials)


async def test_protected_registry_accepts_the_password_as_a_secret(engine: OfflineTestBed) -> None:
    reference = f"{engine.auth_registry}/{_unique('accepted')}"
    password = dag.set_secret("registry-password", engine.auth_password)
    published = await (
        dag.container()
        .from_(engine.distro_image)
        .with_registry_auth(engine.auth_registry, engine.auth_user, password)
        .publish(reference)
    )
    assert exists(published, Credentials(engine.auth_user, engine.auth_password))


def test_the_announced_cli_is_the_official_one_on_the_engine(testbed: OfflineTestBed) -> None:
    cli = os.environ["_EXPERIMENTAL_DAGGER_CLI_BIN"]
    runner = os.environ["_EXPERIMENTAL_DAGGER_RUNNER_HOST"]
    version = subprocess.run([cli, "version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith(f"dagger v{pins().dagger} ({runner}) ")
    # A subcommand only the official CLI has, answered by the engine.
    query = subprocess.run(
        [cli, "query", "--no-mod", "--silent"],
        input="{ version }",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(query.stdout) == {"version": f"v{pins().dagger}"}


def test_second_up_reuses_everything(testbed: OfflineTestBed) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [str(REPO_ROOT / "tests/engine/up")], capture_output=True, text=True, check=True
    )
    elapsed = time.monotonic() - started
    print(f"\nwarm tests/engine/up: {elapsed:.1f}s")
    exported = up_exports(result.stdout)
    for name in (
        "_EXPERIMENTAL_DAGGER_CLI_BIN",
        "_EXPERIMENTAL_DAGGER_RUNNER_HOST",
        "ANTREA_CI_GO_IMAGE",
        "ANTREA_CI_DISTRO_IMAGE",
    ):
        assert exported[name] == os.environ[name]
    assert "building" not in result.stderr and "assembling" not in result.stderr


async def test_the_engines_cache_budget_is_the_one_up_configured(engine: OfflineTestBed) -> None:
    budget = int(os.environ.get("ANTREA_CI_ENGINE_CACHE_GB", "40")) * 10**9
    usage = await engine_cache_usage()
    assert (usage.max_used, usage.min_free, usage.reserved) == (budget, budget // 4, budget // 5)
    assert 0 < usage.used <= budget
