"""Build inputs made from tests/fixtures: a git checkout of antrea-mini, an OVS tarball."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from dagger import dag

from ci.images.inputs import BuildInputs
from ci.images.source import without_unread
from ci.main import Antrea
from tests.support.testbed import OfflineTestBed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Real upstream inputs, laid beside the clone (CI lays shared/ there): ../shared/offline.
OFFLINE = Path(__file__).resolve().parents[3] / "shared" / "offline"
REAL_ANTREA_TARBALL = OFFLINE / "antrea-v2.7.0-offline.tar.gz"
WRAPPER_FIXTURE = FIXTURES / "iptables-wrappers-mini"
OVS_VERSION = (FIXTURES / "ovs-mini/VERSION").read_text().strip()
# Inputs of equal content are equal bytes, so tests that build the same fixture share the
# engine's cache: the fixture commits carry this date, the tarballs no time at all.
FIXTURE_COMMIT_DATE = "2026-01-01T00:00:00+00:00"
# The command line of this project, as installed beside the Python running the tests.
ANTREA_CI = str(Path(sys.executable).parent / "antrea-ci")


def fixture_options(checkout: Path, tarball: Path) -> list[str]:
    """The antrea-ci options that build a fixture checkout: source, OVS tarball and the
    iptables-wrappers fixture."""
    return [
        *["--source", str(checkout), "--ovs-tarball", str(tarball)],
        *["--iptables-wrapper-source", str(WRAPPER_FIXTURE)],
    ]


def git(tree: Path, *args: str) -> str:
    dates = {"GIT_AUTHOR_DATE": FIXTURE_COMMIT_DATE, "GIT_COMMITTER_DATE": FIXTURE_COMMIT_DATE}
    result = subprocess.run(
        ["git", "-C", str(tree), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **dates},
    )
    return result.stdout.strip()


def antrea_checkout(destination: Path, fixture: str = "antrea-mini") -> Path:
    """A committed git checkout of a fixture tree, in a new folder; returns its path."""
    tree = destination / fixture
    suffix = 1
    while tree.exists():
        suffix += 1
        tree = destination / f"{fixture}-{suffix}"
    shutil.copytree(FIXTURES / fixture, tree)
    git(tree, "init", "-q", "-b", "main")
    git(tree, "add", "-A")
    git(
        tree,
        "-c",
        "user.name=antrea-ci tests",
        "-c",
        "user.email=tests@antrea-ci.invalid",
        "commit",
        "-q",
        "-m",
        "fixture",
    )
    return tree


def real_antrea(destination: Path) -> Path:
    """Antrea v2.7.0 as ../shared/offline holds it (a release tree, no .git), unpacked into
    a new folder; returns its path."""
    if not REAL_ANTREA_TARBALL.is_file():
        raise FileNotFoundError(
            f"{REAL_ANTREA_TARBALL} is missing: lay ../shared/offline beside the clone"
        )
    with tarfile.open(REAL_ANTREA_TARBALL) as archive:
        archive.extractall(destination, filter="tar")
    (tree,) = (path for path in destination.iterdir() if (path / "go.mod").is_file())
    return tree


def ovs_tarball(destination: Path) -> Path:
    """The ovs-mini tree packed like an OVS release: openvswitch-<version>.tar.gz."""
    path = destination / f"openvswitch-{OVS_VERSION}.tar.gz"
    with (
        gzip.GzipFile(path, "wb", mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w") as archive,
    ):
        archive.add(FIXTURES / "ovs-mini", arcname=f"openvswitch-{OVS_VERSION}", filter=_timeless)
    return path


def _timeless(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """A tarball member without the time or owner of the file it was made from."""
    member.mtime, member.uid, member.gid, member.uname, member.gname = 0, 0, 0, "", ""
    return member


ELF_MACHINES = {62: "x86_64", 183: "aarch64", 40: "arm", 243: "riscv"}
EF_ARM_EABI_MASK = 0xFF000000


def elf_header(binary: bytes) -> tuple[str, int, int]:
    """(machine, ELF class bits, ARM EABI version or 0) of an ELF executable."""
    if binary[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    bits = 64 if binary[4] == 2 else 32
    machine = int.from_bytes(binary[18:20], "little")
    flags_offset = 48 if bits == 64 else 36
    flags = int.from_bytes(binary[flags_offset : flags_offset + 4], "little")
    eabi = (flags & EF_ARM_EABI_MASK) >> 24 if machine == 40 else 0
    return ELF_MACHINES.get(machine, str(machine)), bits, eabi


def fixture_antrea(engine: OfflineTestBed, checkout: Path, tarball: Path) -> Antrea:
    """The module's main object over a fixture checkout, with the test bed's seed images."""
    return Antrea(
        source=dag.host().directory(str(checkout)),
        distro_image=engine.distro_image,
        go_image=engine.go_image,
        ovs_tarball=dag.host().file(str(tarball)),
        iptables_wrapper_source=dag.host().directory(str(WRAPPER_FIXTURE)),
    )


def fixture_inputs(
    engine: OfflineTestBed,
    checkout: Path,
    tarball: Path,
    base_registry: str = "",
    wrapper_source: Path = WRAPPER_FIXTURE,
) -> BuildInputs:
    """The build inputs of fixture_antrea, for the builder's classes (benchmarks)."""
    return BuildInputs(
        source=without_unread(dag.host().directory(str(checkout))),
        distro_image=engine.distro_image,
        go_image=engine.go_image,
        ovs_tarball=dag.host().file(str(tarball)),
        base_registry=base_registry,
        iptables_wrapper_source=dag.host().directory(str(wrapper_source)),
    )
