"""Released images pushed reproducibly: exported from the engine, made a function of their
inputs (ci/core/reproducible.py) and pushed by this process, blob by blob.

Dagger's own push writes the time each engine built an image into it, so two engines (or
two runs of one engine without its cache) push other digests for the same files. Pushed
here, a platform's image has one digest whichever engine built it, when the layers it was
made on come from a registry (--base-registry): what apt writes when the bases are built
(its logs, caches) differs by run anyway.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import dagger

from ci.core.errors import sole_error_unwrapped
from ci.core.platforms import Platform
from ci.core.references import Repository
from ci.core.reproducible import (
    OCI_MANIFEST,
    OciLayout,
    ReproducibleError,
    ReproducibleImage,
    reproducible,
)
from ci.core.say import Say
from ci.release.push import PublishError
from ci.release.registry import Descriptor, RegistryClient, RegistryError

# How many images are exported and rewritten at once.
AT_ONCE = 3


@dataclass
class ReproduciblePush:
    """Makes and pushes reproducible images in workdir (a folder of this process's).

    sources: the repositories the images were made on (the distribution image, the bases'
    namespace); the layers one of them holds are kept as they are and mounted from there."""

    clients: Mapping[str, RegistryClient]
    workdir: Path
    epoch: int
    sources: Sequence[Repository]
    say: Say
    _pulled: dict[str, bool] = field(default_factory=dict)
    _made: int = 0

    async def image(self, container: dagger.Container, label: str) -> ReproducibleImage:
        """The container's image, reproducible (label names it in errors and folders)."""
        self._made += 1
        folder = self.workdir / f"{self._made}-{label.replace('/', '-')}"
        folder.mkdir(parents=True)
        tarball = folder / "image.tar"
        gzip = dagger.ImageLayerCompression.Gzip
        await container.as_tarball(forced_compression=gzip).export(str(tarball))
        try:
            layout = await anyio.to_thread.run_sync(OciLayout.unpack, tarball, folder / "layout")
            tarball.unlink()
            kept = {digest for digest in layout.layer_digests if await self._is_pulled(digest)}
            return await anyio.to_thread.run_sync(
                reproducible, layout, self.epoch, kept, folder / "blobs"
            )
        except ReproducibleError as error:
            raise PublishError(f"the {label} image: {error}") from None

    async def images(
        self, containers: Mapping[tuple[Platform, str], dagger.Container]
    ) -> dict[tuple[Platform, str], ReproducibleImage]:
        """Each container's image, AT_ONCE at a time; one line per platform says what was
        rewritten and kept, and the seconds from its first image's start to its last's end
        (platforms overlap)."""
        made: dict[tuple[Platform, str], ReproducibleImage] = {}
        started: dict[Platform, float] = {}
        finished: dict[Platform, float] = {}
        limit = anyio.CapacityLimiter(AT_ONCE)

        async def one(key: tuple[Platform, str], container: dagger.Container) -> None:
            async with limit:
                started.setdefault(key[0], time.monotonic())
                made[key] = await self.image(container, f"{key[0]}-{key[1]}")
                finished[key[0]] = time.monotonic()

        with sole_error_unwrapped():
            async with anyio.create_task_group() as group:
                for key, container in containers.items():
                    group.start_soon(one, key, container)
        for platform in sorted({key[0] for key in made}):
            mine = [image for key, image in made.items() if key[0] == platform]
            kept = sum(layer.digest in self._pulled_set for image in mine for layer in image.layers)
            total = sum(len(image.layers) for image in mine)
            self.say(
                f"reproducible: {platform}: {len(mine)} images, {total - kept} layers rewritten "
                f"at {self.epoch} (the commit's time), {kept} kept from the registry, in "
                f"{finished[platform] - started[platform]:.1f} s"
            )
        return made

    @property
    def _pulled_set(self) -> set[str]:
        return {digest for digest, pulled in self._pulled.items() if pulled}

    async def _is_pulled(self, digest: str) -> bool:
        """Whether a source repository holds the layer (asked once per layer)."""
        if digest not in self._pulled:
            found = False
            for source in self.sources:
                try:
                    found = await self.clients[source.registry].has_blob(source, digest)
                except RegistryError as error:
                    raise PublishError(
                        f"cannot tell whether {source}, which the images were made on, holds "
                        f"the layer {digest}: {error}"
                    ) from None
                if found:
                    break
            self._pulled[digest] = found
        return self._pulled[digest]

    async def push(self, image: ReproducibleImage, repository: Repository, tag: str) -> str:
        """The image's blobs, then its manifest as repository:tag; returns the reference
        with its digest."""
        client = self.clients[repository.registry]
        for blob in image.blobs:
            await client.put_blob(repository, blob, self.sources)
        digest = await client.put_manifest(repository, tag, image.manifest, OCI_MANIFEST)
        return f"{repository.tagged(tag)}@{digest}"


@dataclass(frozen=True)
class Reproducible:
    """A release's images made reproducible, by platform and image, and their pusher."""

    pusher: ReproduciblePush
    images: dict[tuple[Platform, str], ReproducibleImage]


@asynccontextmanager
async def workspace() -> AsyncIterator[Path]:
    """A folder of this process's for the images' files, removed after."""
    with tempfile.TemporaryDirectory(prefix="antrea-ci-release-") as folder:
        yield Path(folder)


def descriptor(image: ReproducibleImage, platform: Platform) -> Descriptor:
    """The image as an index lists it."""
    return Descriptor(OCI_MANIFEST, image.digest, len(image.manifest), platform)
