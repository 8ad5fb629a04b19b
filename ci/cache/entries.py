"""Restoring the Go cache from a store before a build or a test run, saving it after.

Nothing here can make an output wrong: an entry is used only when its image says it is one
for this Go and this platform, and a tarball only when its sha256 is the one written beside
it; anything else is one warning line and a cold build. Go itself keys every entry by what
it was computed from, so an entry of another go.sum only misses where the code changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagger
from dagger import dag

from ci.cache.volumes import GoCacheVolumes
from ci.core.errors import first_line
from ci.core.go_cache import (
    BUILD_TARS,
    ENTRY_DIR,
    MODULE_TAR,
    STAMP,
    CacheStore,
    DirectoryStore,
    GoCacheKey,
    RegistryStore,
    engine_file_digest,
    go_version,
    mismatch,
    newest_with_prefix,
    sha256_text,
)
from ci.core.platforms import Platform
from ci.core.say import Say, to_stderr
from ci.images.golang import GO_BUILD_CACHE, GO_MOD_CACHE, SOURCE_DIR, go_builder
from ci.images.inputs import Credential, authenticated

# Where an exec writes an entry's tar files (a save) or unpacks them (a restore).
OUT = "/antrea-ci-go-cache"
# Files Go used or wrote since the restore are newer than this (entries are stamped STAMP).
USED_SINCE = STAMP + 86400


async def cache_key(
    image: dagger.Container, go_image_digest: str, engine: Platform, source: dagger.Directory
) -> GoCacheKey:
    """The key of the entry a build of this source by this Go image (resolved, with this
    digest) on this engine uses. The Go version comes from the image's GOLANG_VERSION (its
    config), or from `go env GOVERSION` in an image without one."""
    golang_version = await image.env_variable("GOLANG_VERSION")
    if golang_version:
        version = go_version(golang_version)
    else:
        version = (await image.with_exec(["go", "env", "GOVERSION"]).stdout()).strip()
    go_sum = await source.file("go.sum").contents() if "go.sum" in await source.entries() else ""
    return GoCacheKey(
        go_version=version,
        go_image_digest=go_image_digest.rpartition("@")[2],
        platform=engine,
        go_sum=sha256_text(go_sum),
    )


def _save_script(nonce: str) -> str:
    """The shell script that writes into OUT, as the entry's tar files, what of the caches
    the last build and test run used (build cache: the files newer than the stamp, in two
    halves; module cache: the extracted modules of the tree's module graph and the
    metadata Go reads, not the zips Go made them from), stamped, and prints the bytes of
    each cache."""
    first, second = (f"{OUT}/{name}" for name in BUILD_TARS)
    pack = f"tar -cf - --mtime=@{STAMP} --totals --null -T"
    return f"""
# {nonce}: a save reads the volumes as they are now, never a cached copy of them.
mkdir -p {OUT}
cd {GO_BUILD_CACHE}
find . -type f -newermt @{USED_SINCE} -path './[0-7]*' -print0 > /tmp/build-0
find . -type f -newermt @{USED_SINCE} ! -path './[0-7]*' -print0 > /tmp/build-1
{pack} /tmp/build-0 2>/tmp/build-0-total > {first} &
first=$!
{pack} /tmp/build-1 2>/tmp/build-1-total > {second} &
second=$!
cd {SOURCE_DIR}
go list -m -f '{{{{.Dir}}}}' all | grep '^{GO_MOD_CACHE}/' | sed 's|^{GO_MOD_CACHE}/||' \\
    > /tmp/module-dirs || true
cd {GO_MOD_CACHE}
{{ tr '\\n' '\\0' < /tmp/module-dirs
  find cache/download -type f \\( -name '*.mod' -o -name '*.info' -o -name '*.ziphash' \\) \\
      -print0 2>/dev/null || true; }} > /tmp/module-files
{pack} /tmp/module-files 2>/tmp/module-total > {OUT}/{MODULE_TAR}
wait "$first"
wait "$second"
total() {{ sed -n 's/^Total bytes written: \\([0-9]*\\).*/\\1/p' "$1"; }}
echo "$(total /tmp/module-total) $(($(total /tmp/build-0-total) + $(total /tmp/build-1-total)))"
"""


def _unpack_script() -> str:
    """The shell script that unpacks an entry's tar files (mounted at ENTRY_DIR) into
    OUT/modules and OUT/build, the three side by side."""
    tars = [(MODULE_TAR, "modules"), *((name, "build") for name in BUILD_TARS)]
    lines = [f"mkdir -p {OUT}/modules {OUT}/build"]
    for number, (name, where) in enumerate(tars):
        lines += [f"tar -xf {ENTRY_DIR}/{name} -C {OUT}/{where} &", f"job{number}=$!"]
    lines += [f'wait "$job{number}"' for number in range(len(tars))]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GoCache:
    """Restores and saves Go cache entries with the credentials of the registries they are
    in; says what it did through `say`, one line each."""

    tool_image: str  # an image with sh, tar and find (the Go image)
    credentials: Sequence[Credential] = ()
    say: Say = to_stderr

    def warn(self, text: str) -> None:
        self.say(f"warning: go cache: {text}: building without it")

    async def restore(
        self,
        key: GoCacheKey,
        store: CacheStore | None = None,
        directory: dagger.Directory | None = None,
    ) -> GoCacheVolumes:
        """Volumes seeded from the store's entry for the key (or the newest of its prefix);
        empty ones, with a warning, when there is none or it does not fit."""
        started = time.monotonic()
        found: tuple[dagger.Container, str] | None
        if isinstance(store, RegistryStore):
            found = await self._from_registry(store, key)
        elif isinstance(store, DirectoryStore) and not store.path.is_dir():
            self.warn(f"{store} is not a directory yet (nothing was saved there)")
            found = None
        elif isinstance(store, DirectoryStore):
            found = await self._from_directory(
                str(store),
                dag.host().directory(str(store.path), include=["*.json"]),
                lambda name: dag.host().file(str(store.path / name)),
                key,
            )
        elif directory is not None:
            found = await self._from_directory(
                "the directory given", directory, directory.file, key
            )
        else:
            return GoCacheVolumes.empty()
        if found is None:
            return GoCacheVolumes.empty()
        entry, where = found
        labels = {await label.name(): await label.value() for label in await entry.labels()}
        reason = mismatch(labels, key)
        if reason:
            self.warn(f"{where} does not fit: {reason}")
            return GoCacheVolumes.empty()
        unpacked = (
            dag.container()
            .from_(self.tool_image)
            .with_mounted_directory(ENTRY_DIR, entry.directory(ENTRY_DIR))
            .with_exec(["sh", "-ec", _unpack_script()])
        )
        try:
            await unpacked.sync()
        except dagger.QueryError as error:
            self.warn(f"{where} cannot be read ({first_line(str(error))})")
            return GoCacheVolumes.empty()
        volumes = GoCacheVolumes.seeded(
            unpacked.directory(f"{OUT}/modules"), unpacked.directory(f"{OUT}/build")
        )
        other_sum = labels.get("org.antrea-ci.go-cache.go-sum") != key.go_sum
        how = " (another go.sum: the newest entry of this Go and platform)" if other_sum else ""
        self.say(f"go cache: restored {where}{how} in {time.monotonic() - started:.1f}s")
        return volumes

    async def _from_registry(
        self, store: RegistryStore, key: GoCacheKey
    ) -> tuple[dagger.Container, str] | None:
        repository = store.repository
        for tag in (key.name, key.prefix):
            reference = repository.tagged(tag)
            image = authenticated(
                dag.container(platform=dagger.Platform(str(key.platform))),
                self.credentials,
                repository.registry,
            ).from_(reference)
            try:
                await image.sync()
            except dagger.QueryError as error:
                reason = first_line(str(error))
                if not any(w in reason.lower() for w in ("not found", "manifest unknown", "404")):
                    self.warn(f"{reference} cannot be read ({reason})")
                    return None
                continue
            return image, reference
        self.warn(f"{store} holds no entry {key.name} nor {key.prefix}")
        return None

    async def _from_directory(
        self,
        where: str,
        listing: dagger.Directory,
        file_of: Callable[[str], dagger.File],
        key: GoCacheKey,
    ) -> tuple[dagger.Container, str] | None:
        """The newest whole entry of the key (else of its prefix) in a directory store,
        once its tarball's sha256 is the one its description gives."""
        described: dict[str, dict[str, object]] = {}
        try:
            names = [name for name in await listing.entries() if name.endswith(".json")]
        except dagger.QueryError as error:
            self.warn(f"{where} cannot be read ({first_line(str(error))})")
            return None
        for name in names:
            try:
                described[name] = json.loads(await listing.file(name).contents())
            except (dagger.QueryError, json.JSONDecodeError):
                continue
        saved = [
            (str(d.get("name", "")), float(str(d.get("saved", 0)))) for d in described.values()
        ]
        exact = [s for s in saved if s[0] == key.name]
        chosen = (
            max(exact, key=lambda s: s[1])[0] if exact else newest_with_prefix(saved, key.prefix)
        )
        if chosen is None:
            self.warn(f"{where} holds no entry {key.name} nor one of {key.prefix}")
            return None
        description = max(
            (d for d in described.values() if d.get("name") == chosen),
            key=lambda d: float(str(d.get("saved", 0))),
        )
        tarball = str(description.get("tarball", ""))
        label = f"{where}/{tarball}"
        file = file_of(tarball)
        try:
            checked = await file.digest(exclude_metadata=True)
        except dagger.QueryError as error:
            self.warn(f"{label} cannot be read ({first_line(str(error))})")
            return None
        if checked != engine_file_digest(str(description.get("sha256", ""))):
            self.warn(f"{label} is not what was saved (its sha256 differs: truncated or corrupt)")
            return None
        return dag.container(platform=dagger.Platform(str(key.platform))).import_(file), label

    async def save(
        self,
        key: GoCacheKey,
        volumes: GoCacheVolumes,
        source: dagger.Directory,
        store: CacheStore,
    ) -> None:
        """Save what of the volumes the last build and test run used as the key's entry:
        pushed under its name, then as its prefix's newest (a registry), or written beside
        the store's other entries and described last (a directory): an interrupted save
        leaves the previous entry as it was."""
        started = time.monotonic()
        copied = (
            go_builder(self.tool_image, volumes)
            .with_mounted_directory(SOURCE_DIR, source)
            .with_exec(["sh", "-ec", _save_script(uuid.uuid4().hex)])
        )
        module_bytes, build_bytes = (int(n) for n in (await copied.stdout()).split()[-2:])
        # File by file: Dagger 0.21.8 exports a rootfs made of an exec's subdirectory with
        # all of the exec's filesystem around it.
        entry = dag.container(platform=dagger.Platform(str(key.platform)))
        for name in (MODULE_TAR, *BUILD_TARS):
            entry = entry.with_file(f"{ENTRY_DIR}/{name}", copied.file(f"{OUT}/{name}"))
        for name, value in key.labels().items():
            entry = entry.with_label(name, value)
        zstd = dagger.ImageLayerCompression.Zstd
        if isinstance(store, RegistryStore):
            repository = store.repository
            entry = authenticated(entry, self.credentials, repository.registry)
            for tag in (key.name, key.prefix):
                await entry.publish(repository.tagged(tag), forced_compression=zstd)
            where, packed = f"{repository.tagged(key.name)}", ""
        else:
            tarball = await self._write(store, key, entry)
            where, packed = str(tarball), f", {tarball.stat().st_size / 2**20:.0f} MiB packed"
        self.say(
            f"go cache: saved {where}: modules {module_bytes / 2**20:.0f} MiB, build cache "
            f"{build_bytes / 2**20:.0f} MiB{packed}, in {time.monotonic() - started:.1f}s"
        )

    @staticmethod
    async def _write(store: DirectoryStore, key: GoCacheKey, entry: dagger.Container) -> Path:
        """The entry as NAME-TIME.tar and its description NAME-TIME.json, each written under
        a temporary name and renamed into place, the description last; older entries of
        the same Go and platform removed after (a store holds one entry of each). Returns
        the tarball."""
        store.path.mkdir(parents=True, exist_ok=True)
        saved = time.time()
        stem = f"{key.name}-{int(saved)}"
        temporary = store.path / f".{stem}-{uuid.uuid4().hex[:8]}"
        tarball = store.path / f"{stem}.tar"
        await entry.export(f"{temporary}.tar", forced_compression=dagger.ImageLayerCompression.Zstd)
        digest = hashlib.sha256()
        with open(f"{temporary}.tar", "rb") as written:
            for block in iter(lambda: written.read(1 << 20), b""):
                digest.update(block)
        os.replace(f"{temporary}.tar", tarball)
        description = {
            "name": key.name,
            "tarball": tarball.name,
            "sha256": digest.hexdigest(),
            "size": tarball.stat().st_size,
            "saved": saved,
        }
        Path(f"{temporary}.json").write_text(json.dumps(description, indent=2) + "\n")
        os.replace(f"{temporary}.json", store.path / f"{stem}.json")
        for older in store.path.glob(f"{key.prefix}-*.json"):
            if older.name != f"{stem}.json":
                older.unlink(missing_ok=True)
                older.with_suffix(".tar").unlink(missing_ok=True)
        return tarball
