"""The images build for every platform on the real engine (issues 3 and 12)."""

from __future__ import annotations

import json
import os
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from dagger import dag

from ci.cli.options import to_build_inputs
from ci.core.catalog import IMAGE_NAMES
from ci.core.platforms import PlatformError
from ci.core.summary import tarball_facts
from ci.core.versions import SourceError, pins
from ci.engine.record import EngineRecord
from ci.engine.session import LOGS_VARIABLE
from ci.images.builder import ImageError, Images
from ci.images.source import UPLOAD_EXCLUDES
from ci.main import Antrea
from tests.support.inputs import (
    FIXTURES,
    antrea_checkout,
    elf_header,
    fixture_antrea,
    git,
    ovs_tarball,
)
from tests.support.markdown import markdown_tables
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
# Commands of the OVS image's build: its .debs (ci/images/ovs.py) and their install.
OVS_STEPS = ("debian/rules binary", "apt-mark hold")
# (machine, ELF class, ARM EABI version) of the binaries built for each platform.
ELF = {
    "linux/amd64": ("x86_64", 64, 0),
    "linux/arm64": ("aarch64", 64, 0),
    "linux/arm/v7": ("arm", 32, 5),
}
BINARIES = [
    "antrea-agent",
    "antrea-cni",
    "antrea-sysctl-init",
    "antctl",
    "antrea-controller",
    "flow-aggregator",
]
CNI_PLUGINS = {"host-local", "loopback", "portmap", "bandwidth"}


@dataclass
class Inputs:
    checkout: Path
    tarball: Path
    expected_version: str


@dataclass
class Built:
    images: Images
    seconds: float


def antrea_for(engine: OfflineTestBed, inputs: Inputs, checkout: Path | None = None) -> Antrea:
    return fixture_antrea(engine, checkout or inputs.checkout, inputs.tarball)


async def build_and_sync(antrea: Antrea, platform: str) -> Built:
    """Build the platform's five images, all at once, as the CLI does."""
    started = time.monotonic()
    images = await antrea.build(platform)
    async with anyio.create_task_group() as group:
        for name in IMAGE_NAMES:
            group.start_soon(getattr(images, name).sync)
    return Built(images, time.monotonic() - started)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    workdir = tmp_path_factory.mktemp("build")
    checkout = antrea_checkout(workdir)
    version = (checkout / "VERSION").read_text().strip()
    sha = git(checkout, "rev-parse", "--short", "HEAD")
    return Inputs(checkout, ovs_tarball(workdir), f"{version}-{sha}")


@pytest.fixture(scope="module")
async def built(engine: OfflineTestBed, inputs: Inputs) -> dict[str, Built]:
    """The three platforms built concurrently, once for the whole module."""
    antrea = antrea_for(engine, inputs)
    results: dict[str, Built] = {}

    async def build_one(platform: str) -> None:
        results[platform] = await build_and_sync(antrea, platform)

    async with anyio.create_task_group() as group:
        for platform in PLATFORMS:
            group.start_soon(build_one, platform)
    for platform, result in results.items():
        print(f"\ncold build {platform}: {result.seconds:.1f}s")
    return results


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_images_declare_their_platform(built: dict[str, Built], platform: str) -> None:
    images = built[platform].images
    assert images.platform == platform
    containers = (images.ovs, images.base, images.agent, images.controller)
    for container in (*containers, images.flow_aggregator):
        assert str(await container.platform()) == platform


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_binaries_are_cross_compiled_for_the_platform(
    engine: OfflineTestBed, inputs: Inputs, platform: str, tmp_path: Path
) -> None:
    await (await antrea_for(engine, inputs).binaries(platform)).export(str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(BINARIES)
    for name in BINARIES:
        assert elf_header((tmp_path / name).read_bytes()) == ELF[platform], name


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_antctl_reports_the_fixture_version(
    built: dict[str, Built], inputs: Inputs, platform: str
) -> None:
    images = built[platform].images
    assert images.version == inputs.expected_version
    for container in (images.agent, images.controller, images.flow_aggregator):
        output = await container.with_exec(["antctl", "version"]).stdout()
        assert output.strip() == f"antctlVersion: {inputs.expected_version}"
        label = await container.label("org.opencontainers.image.version")
        assert label == inputs.expected_version


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_flow_aggregator_runs_from_its_entrypoint_like_upstreams(
    built: dict[str, Built], inputs: Inputs, platform: str
) -> None:
    aggregator = built[platform].images.flow_aggregator
    assert await aggregator.entrypoint() == ["/flow-aggregator"]
    goos, goarch = platform.split("/")[:2]
    output = await aggregator.with_exec([], use_entrypoint=True).stdout()
    assert output.strip() == f"flow-aggregator {inputs.expected_version} {goos}/{goarch}"
    certificates = "test -s /etc/ssl/certs/ca-certificates.crt && echo present"
    assert (await aggregator.with_exec(["sh", "-c", certificates]).stdout()).strip() == "present"


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_agent_holds_ovs_cni_plugins_and_the_iptables_wrapper(
    built: dict[str, Built], platform: str
) -> None:
    agent = built[platform].images.agent
    version = await agent.with_exec(["ovs-vswitchd", "--version"]).stdout()
    assert "Open vSwitch" in version
    plugins = set(await agent.directory("/opt/cni/bin").entries())
    assert plugins >= CNI_PLUGINS
    wrapper = await agent.with_exec(["readlink", "/usr/sbin/iptables"]).stdout()
    assert wrapper.strip() == "iptables-wrapper"
    held = await agent.with_exec(["apt-mark", "showhold"]).stdout()
    assert {"openvswitch-common", "openvswitch-switch"} <= set(held.split())
    scripts = await agent.directory("/usr/local/bin").entries()
    assert {"install_cni", "start_ovs", "antrea-agent", "antrea-cni"} <= set(scripts)


async def test_second_build_is_cached_and_a_go_change_keeps_ovs(
    engine: OfflineTestBed, inputs: Inputs, built: dict[str, Built]
) -> None:
    platform = "linux/amd64"
    cold = built[platform]
    warm = await build_and_sync(antrea_for(engine, inputs), platform)

    changed = antrea_checkout(inputs.checkout.parent)
    main_go = changed / "cmd/antrea-agent/main.go"
    main_go.write_text(main_go.read_text() + "\n// A change to one Go file.\n")
    rebuilt = await build_and_sync(antrea_for(engine, inputs, changed), platform)
    print(
        f"\n{platform}: cold {cold.seconds:.1f}s, warm {warm.seconds:.1f}s, "
        f"after a Go change {rebuilt.seconds:.1f}s"
    )

    ovs_digest = await cold.images.ovs.rootfs().digest()
    assert await warm.images.ovs.rootfs().digest() == ovs_digest
    assert await rebuilt.images.ovs.rootfs().digest() == ovs_digest
    assert rebuilt.images.version.endswith(".dirty")
    assert await rebuilt.images.agent.rootfs().digest() != await cold.images.agent.rootfs().digest()


async def test_unknown_platform_is_refused(engine: OfflineTestBed, inputs: Inputs) -> None:
    with pytest.raises(PlatformError, match="linux/mips"):
        await antrea_for(engine, inputs).build("linux/mips")


async def test_a_tree_that_is_not_antrea_is_refused(engine: OfflineTestBed, inputs: Inputs) -> None:
    antrea = antrea_for(engine, inputs)
    antrea.source = dag.host().directory(str(FIXTURES / "ovs-mini"))
    with pytest.raises(SourceError) as refused:
        await antrea.build("linux/amd64")
    assert "not an Antrea tree" in str(refused.value)
    assert "go.mod" in str(refused.value) and "cmd/antrea-agent" in str(refused.value)


async def test_an_image_that_does_not_resolve_is_named(
    engine: OfflineTestBed, inputs: Inputs
) -> None:
    antrea = antrea_for(engine, inputs)
    antrea.distro_image = f"{engine.registry}/antrea-ci/no-such-image:missing"
    with pytest.raises(ImageError) as refused:
        await antrea.controller("linux/arm64")
    assert "no-such-image:missing" in str(refused.value)
    assert "distribution" in str(refused.value)


async def test_suricata_comes_from_debians_backports_on_debian_and_can_be_left_out(
    engine: OfflineTestBed, inputs: Inputs, built: dict[str, Built]
) -> None:
    # The test bed's distribution image is Debian 12: Suricata 7.0 from bookworm-backports
    # (Ubuntu's PPA is for Ubuntu).
    images = built["linux/amd64"].images
    chosen = "suricata 7.0 (build/images/deps/suricata-version) from Debian's bookworm-backports"
    assert chosen in images.versions
    version = await images.agent.with_exec(["suricata", "-V"]).stdout()
    assert version.startswith("This is Suricata version 7.0."), version
    on_purpose = await antrea_for(engine, inputs).build("linux/amd64", suricata=False)
    assert "suricata left out (--suricata=false)" in on_purpose.versions
    absent = "command -v suricata || echo absent"
    agent = on_purpose.agent.with_exec(["sh", "-c", absent])
    assert (await agent.stdout()).strip() == "absent"


async def test_cli_writes_one_oci_tarball_per_image(
    engine: OfflineTestBed, inputs: Inputs, built: dict[str, Built], tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).parent / "antrea-ci"),
        "build",
        "--source",
        str(inputs.checkout),
        "--platform",
        "linux/arm64",
        "--output",
        str(tmp_path),
        "--ovs-tarball",
        str(inputs.tarball),
        "--iptables-wrapper-source",
        str(FIXTURES / "iptables-wrappers-mini"),
        "--timings",
        str(tmp_path / "timings.json"),
        "--no-suricata",
        "--summary",
        str(tmp_path / "summary.md"),
    ]
    logged = {**os.environ, LOGS_VARIABLE: "1"}
    result = await anyio.run_process(command, check=False, env=logged)
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "[linux/arm64] ovs done in" in stderr
    versions = next(line for line in stderr.splitlines() if line.startswith("versions: "))
    assert versions.startswith("versions: ovs 3.7.1 (build/images/deps/ovs-version); ")
    assert "; suricata left out (--suricata=false); " in versions
    assert stdout.splitlines()[0].split() == ["stage", "linux/arm64"]
    assert any(line.startswith("total") for line in stdout.splitlines())
    names = (
        "antrea-openvswitch",
        "antrea-base",
        "antrea-agent-ubuntu",
        "antrea-controller-ubuntu",
        "flow-aggregator",
    )
    for name in names:
        with tarfile.open(tmp_path / f"{name}-linux-arm64.tar") as archive:
            assert "index.json" in archive.getnames()
    # The job summary: the stage table, and each image by the digest its tarball holds.
    stage_rows, image_rows = markdown_tables((tmp_path / "summary.md").read_text())
    assert stage_rows[0] == ["stage", "linux/arm64 (emulated)"]
    assert [row[0] for row in stage_rows[1:]] == [
        *("plan", "ovs", "base", "agent", "controller", "flow_aggregator", "export"),
        "**total**",
    ]
    for row, name in zip(image_rows[1:], names, strict=True):
        facts = tarball_facts(name, "linux/arm64", tmp_path / f"{name}-linux-arm64.tar")
        assert row[:3] == [f"`{name}`", "linux/arm64", f"`{facts.digest}`"]
    # The baseline record: every stage, emulated here (x86-64 engine), the OVS image
    # already built by the `built` fixture, so served from the cache.
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert timings["command"] == "build"
    assert timings["versions"] == versions.removeprefix("versions: ").split("; ")
    stages = {stage["stage"]: stage for stage in timings["stages"]}
    assert list(stages) == [
        "plan",
        "ovs",
        "base",
        "agent",
        "controller",
        "flow_aggregator",
        "export",
    ]
    assert all(s["platform"] == "linux/arm64" and s["emulated"] for s in stages.values())
    # The OVS image the `built` fixture made is served from the engine's cache: by the
    # engine's own record (the session's progress, ANTREA_CI_ENGINE_LOGS), no command of
    # the OVS build ran, while the build did run commands (the images without Suricata).
    record = EngineRecord()
    for line in stderr.splitlines():
        record.read(line)
    assert record.as_dict()["cached"] > 0
    ovs_steps = [c for c in record.ran if any(step in c for step in OVS_STEPS)]
    assert not ovs_steps, record.ran
    assert timings["engine"] == record.as_dict()


@pytest.mark.online
async def test_the_pinned_ovs_release_tarball_builds(
    engine: OfflineTestBed, inputs: Inputs
) -> None:
    """The real OVS path: the pinned release tarball, downloaded and built (slow, online)."""
    antrea = antrea_for(engine, inputs)
    antrea.ovs_tarball = None
    ovs = await antrea.ovs("linux/amd64")
    version = await ovs.with_exec(["ovs-vswitchd", "--version"]).stdout()
    assert pins().ovs in version


async def test_the_cli_leaves_out_what_no_stage_reads(
    engine: OfflineTestBed, tmp_path: Path
) -> None:
    tree = antrea_checkout(tmp_path)
    for unread in UPLOAD_EXCLUDES:
        (tree / unread).mkdir(exist_ok=True)
        (tree / unread / "unread.txt").write_text("no stage reads this\n")
    source = to_build_inputs({"source": tree}).source
    assert source is not None
    uploaded = {entry.rstrip("/") for entry in await source.entries()}
    assert uploaded.isdisjoint(UPLOAD_EXCLUDES)
    assert {".git", "pkg", "cmd", "build", "go.mod", "VERSION"} <= uploaded
