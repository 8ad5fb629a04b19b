"""The portable Go cache (issue 28): saved after a build or a test run, restored into a new
engine's volumes, never a wrong output.

A restored entry seeds new cache volumes (the seed is part of a volume's identity), so the
builds that mount them run again on this shared engine, as on a new runner: what Go finds
is the entry and nothing else. Every test builds the fixture for linux/amd64 through the
command line and compares the OCI tarballs' manifests with a build that used no cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagger
import pytest
from dagger import dag

from ci.core.catalog import IMAGE_NAMES
from ci.core.go_cache import BUILD_TARS, ENTRY_DIR, LABEL, STAMP
from ci.core.timings import image_tarball_name
from ci.engine.record import EngineRecord
from ci.engine.session import LOGS_VARIABLE
from tests.support.inputs import ANTREA_CI, antrea_checkout, fixture_options, ovs_tarball
from tests.support.testbed import OfflineTestBed

pytestmark = pytest.mark.engine

WARNING = "warning: go cache: "


@dataclass(frozen=True)
class Run:
    """What one `antrea-ci build` said and made."""

    stderr: str
    output: Path

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(WARNING)]

    @property
    def ran(self) -> list[str]:
        """The commands the engine ran (its own record, from the session's progress)."""
        record = EngineRecord()
        for line in self.stderr.splitlines():
            record.read(line)
        return record.ran

    def manifests(self) -> dict[str, str]:
        """Each tarball's index.json: what names the image's manifest, by digest."""
        found = {}
        for image in IMAGE_NAMES.values():
            tarball = self.output / image_tarball_name(image, "linux/amd64")
            with tarfile.open(tarball) as archive:
                index = archive.extractfile("index.json")
                assert index is not None
                found[image] = index.read().decode()
        return found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    workdir = tmp_path_factory.mktemp("go-cache")
    return antrea_checkout(workdir), ovs_tarball(workdir)


def build(inputs: tuple[Path, Path], output: Path, *cache: str) -> Run:
    """`antrea-ci build` of the fixture for linux/amd64, the session's progress logged."""
    checkout, tarball = inputs
    command = [
        *[ANTREA_CI, "build", *fixture_options(checkout, tarball), "-p", "linux/amd64"],
        *["--output", str(output), "--timings", str(output / "timings.json"), *cache],
    ]
    env = {**os.environ, LOGS_VARIABLE: "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    return Run(done.stderr, output)


@pytest.fixture(scope="module")
def saved(inputs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory store holding one entry, saved after a build of the fixture."""
    store = tmp_path_factory.mktemp("store")
    run = build(inputs, tmp_path_factory.mktemp("saved"), "--cache-to", str(store))
    assert any(line.startswith(f"go cache: saved {store}/") for line in run.stderr.splitlines())
    return store


@pytest.fixture(scope="module")
def cold(inputs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Run:
    return build(inputs, tmp_path_factory.mktemp("cold"))


def entry_files(store: Path) -> tuple[Path, Path]:
    (description,) = store.glob("*.json")
    return description, store / json.loads(description.read_text())["tarball"]


# A build cache file no build reads, added to a saved entry stamped as old as the rest.
UNUSED = "ff/ff" + "0" * 62 + "-d"


async def test_a_build_from_a_restored_cache_makes_the_same_images_and_saves_only_what_it_used(
    engine: OfflineTestBed, inputs: tuple[Path, Path], saved: Path, cold: Run, tmp_path: Path
) -> None:
    first, again = tmp_path / "first", tmp_path / "again"
    await _rewritten(saved, first, lambda entry: _with_unused_file(engine, entry))
    run = build(inputs, tmp_path / "restored", "--cache-from", str(first), "--cache-to", str(again))
    assert run.warnings == []
    assert f"go cache: restored {first}/" in run.stderr
    # Seeded volumes are new volumes: the Go builds ran, on what the entry held.
    assert any(command.startswith("go build") for command in run.ran), run.ran
    assert run.manifests() == cold.manifests()
    # The entry saved after a restore holds what this build used, not the file nobody read.
    restored = await _build_cache_files(engine, first)
    resaved = await _build_cache_files(engine, again)
    assert UNUSED in restored and UNUSED not in resaved
    assert len(resaved) > 100, resaved


def _with_unused_file(engine: OfflineTestBed, entry: dagger.Container) -> dagger.Container:
    """The entry with UNUSED added to its build cache, stamped like the entry's files."""
    path = f"{ENTRY_DIR}/{BUILD_TARS[1]}"
    added = (
        dag.container()
        .from_(engine.go_image)
        .with_directory(ENTRY_DIR, entry.directory(ENTRY_DIR))
        .with_workdir("/unused")
        .with_exec(["sh", "-ec", f"mkdir -p ff && echo unused > {UNUSED}"])
        .with_exec(["touch", "-d", f"@{STAMP}", UNUSED])
        .with_exec(["tar", "-rf", path, UNUSED])
    )
    return entry.with_file(path, added.file(path))


async def _build_cache_files(engine: OfflineTestBed, store: Path) -> set[str]:
    """The files of the build cache in a store's entry, as Go's cache directory names them."""
    entry = dag.container().import_(dag.host().file(str(entry_files(store)[1])))
    listed = await (
        dag.container()
        .from_(engine.go_image)
        .with_directory(ENTRY_DIR, entry.directory(ENTRY_DIR))
        .with_exec(["sh", "-c", " ".join(f"tar -tf {ENTRY_DIR}/{n};" for n in BUILD_TARS)])
        .stdout()
    )
    return {line.removeprefix("./") for line in listed.splitlines() if not line.endswith("/")}


async def _rewritten(
    source: Path, destination: Path, edit: Callable[[dagger.Container], dagger.Container]
) -> None:
    """The entry's tarball again with `edit` applied to its image, described like a saved
    one."""
    description, tarball = entry_files(source)
    destination.mkdir()
    target = destination / tarball.name
    image = edit(dag.container().import_(dag.host().file(str(tarball))))
    await image.export(str(target))
    shutil.copy(description, destination / description.name)
    written = json.loads(description.read_text())
    digest = subprocess.run(["sha256sum", str(target)], capture_output=True, text=True, check=True)
    written.update(sha256=digest.stdout.split()[0], size=target.stat().st_size)
    (destination / description.name).write_text(json.dumps(written))


def _relabel(name: str, value: str) -> Callable[[dagger.Container], dagger.Container]:
    return lambda entry: entry.with_label(name, value)


def _truncated(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination)
    tarball = entry_files(destination)[1]
    tarball.write_bytes(tarball.read_bytes()[: tarball.stat().st_size // 2])


def _corrupt(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination)
    tarball = entry_files(destination)[1]
    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tarball.write_bytes(bytes(data))


CASES = {
    "missing": "holds no entry",
    "truncated": "its sha256 differs: truncated or corrupt",
    "corrupt": "its sha256 differs: truncated or corrupt",
    "wrong platform": "it was made for platform linux/arm64, this build uses linux/amd64",
    "wrong Go": "it was made for Go go1.20.0, this build uses go1.",
}


@pytest.mark.parametrize("case", CASES)
async def test_an_unusable_cache_is_one_warning_and_a_right_build(
    engine: OfflineTestBed,
    inputs: tuple[Path, Path],
    saved: Path,
    cold: Run,
    tmp_path: Path,
    case: str,
) -> None:
    store = tmp_path / "store"
    if case == "missing":
        store.mkdir()
    elif case == "truncated":
        _truncated(saved, store)
    elif case == "corrupt":
        _corrupt(saved, store)
    elif case == "wrong platform":
        await _rewritten(saved, store, _relabel(f"{LABEL}.platform", "linux/arm64"))
    else:
        await _rewritten(saved, store, _relabel(f"{LABEL}.go-version", "go1.20.0"))
    run = build(inputs, tmp_path / "out", "--cache-from", str(store))
    assert len(run.warnings) == 1, run.warnings
    assert CASES[case] in run.warnings[0] and run.warnings[0].endswith("building without it")
    assert "go cache: restored" not in run.stderr
    assert run.manifests() == cold.manifests()


def test_an_interrupted_save_leaves_the_previous_entry_usable(
    inputs: tuple[Path, Path], saved: Path, cold: Run, tmp_path: Path
) -> None:
    """A later save that stopped before its description was written: its tarball (whole or
    not) and its temporary files are there, the previous entry is what is restored."""
    store = tmp_path / "store"
    shutil.copytree(saved, store)
    description, tarball = entry_files(store)
    later = json.loads(description.read_text())["name"] + "-9999999999"
    (store / f"{later}.tar").write_bytes(tarball.read_bytes()[:1000])
    (store / f".{later}-0000.json").write_text("{")
    run = build(inputs, tmp_path / "out", "--cache-from", str(store))
    assert run.warnings == []
    assert f"go cache: restored {store}/{tarball.name}" in run.stderr
    assert run.manifests() == cold.manifests()


def test_a_registry_store_round_trip(
    engine: OfflineTestBed, inputs: tuple[Path, Path], cold: Run, tmp_path: Path
) -> None:
    """The entry pushed beside the images (under its name and its prefix), then restored."""
    repository = f"{engine.registry}/go-cache-{tmp_path.name[-8:]}"
    saving = build(inputs, tmp_path / "save", "--cache-to", repository)
    assert f"go cache: saved {repository}:go1." in saving.stderr
    run = build(inputs, tmp_path / "restore", "--cache-from", repository)
    assert run.warnings == [] and f"go cache: restored {repository}:go1." in run.stderr
    assert any(command.startswith("go build") for command in run.ran), run.ran
    assert run.manifests() == cold.manifests()


def test_unit_tests_restore_gos_test_results(
    engine: OfflineTestBed, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """`antrea-ci test` saves its cache; from it, after one package changed, the tests run
    again (new volumes) and Go's test cache gives the other packages' results."""
    checkout = inputs[0]
    store = tmp_path / "store"
    command = [ANTREA_CI, "test", "--source", str(checkout), "-p", "linux/amd64"]
    first = subprocess.run(
        [*command, "--cache-to", str(store)], capture_output=True, text=True, timeout=1800
    )
    assert first.returncode == 0, first.stderr[-4000:]
    changed = tmp_path / "changed"
    shutil.copytree(checkout, changed)
    with (changed / "pkg/util/ip/ip_test.go").open("a") as test_file:
        test_file.write("\nfunc TestAddedAfterTheSave(t *testing.T) {}\n")
    second = subprocess.run(
        [*command[:3], str(changed), *command[4:], "--cache-from", str(store)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert second.returncode == 0, second.stderr[-4000:]
    assert "go cache: restored" in second.stderr
    cached = [line for line in second.stdout.splitlines() if "from Go's test cache" in line]
    assert cached and int(cached[0].split()[0]) >= 2, second.stdout
