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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio
import dagger

from ci.core.errors import sole_error_unwrapped
from ci.core.platforms import Platform
from ci.core.references import Repository, image_reference
from ci.core.reproducible import (
    OCI_MANIFEST,
    Blob,
    MadeOn,
    NotAsMadeOnError,
    OciLayout,
    ReproducibleError,
    ReproducibleImage,
    remade,
    reproducible,
)
from ci.core.say import Say
from ci.release.push import PublishError
from ci.release.registry import Descriptor, RegistryClient, RegistryError, SourceLayer

# How many images are exported and rewritten at once.
AT_ONCE = 3


def source_repositories(made_on: Mapping[Platform, Mapping[str, str]]) -> list[Repository]:
    """The repositories of the images the released images were made on."""
    found = {image_reference(ref)[0] for refs in made_on.values() for ref in refs.values()}
    return sorted(found, key=str)


@dataclass
class ReproduciblePush:
    """Makes and pushes reproducible images in workdir (a folder of this process's).

    made_on: by platform and released image (a field of Images), the reference of the image
    it was made on (ci.core.catalog.made_on_by_image); its layers are kept as that registry
    holds them and mounted from there."""

    clients: Mapping[str, RegistryClient]
    workdir: Path
    epoch: int
    made_on: Mapping[Platform, Mapping[str, str]]
    say: Say
    _sources: dict[tuple[str, Platform], MadeOn] = field(default_factory=dict)
    _origins: dict[str, SourceLayer] = field(default_factory=dict)
    _remade: dict[Platform, int] = field(default_factory=dict)
    _made: int = 0
    # One reader of the registries at a time: images of a platform share what they were
    # made on, read (or fetched) once.
    _reading: anyio.Lock = field(default_factory=anyio.Lock)

    @property
    def sources(self) -> list[Repository]:
        return source_repositories(self.made_on)

    async def image(
        self, container: dagger.Container, platform: Platform, name: str
    ) -> ReproducibleImage:
        """The container's image (the released image name, a field of Images), reproducible."""
        label = f"{platform}-{name}"
        reference = self.made_on.get(platform, {}).get(name)
        if reference is None:
            raise PublishError(f"the {label} image: what it was made on is not known")
        made_on = await self.source(platform, reference)
        self._made += 1
        folder = self.workdir / f"{self._made}-{label.replace('/', '-')}"
        folder.mkdir(parents=True)
        tarball = folder / "image.tar"
        gzip = dagger.ImageLayerCompression.Gzip
        await container.as_tarball(forced_compression=gzip).export(str(tarball))
        try:
            layout = await anyio.to_thread.run_sync(OciLayout.unpack, tarball, folder / "layout")
            tarball.unlink()
            positions = remade(layout, made_on)
            for position in positions:
                await self._fetch(made_on.layers[position])
            self._remade[platform] = self._remade.get(platform, 0) + len(positions)
            try:
                return await anyio.to_thread.run_sync(
                    reproducible, layout, self.epoch, made_on, folder / "blobs"
                )
            except NotAsMadeOnError as error:
                self.say(
                    f"warning: the {label} image: {error}: every layer rewritten, so its "
                    "digest is this engine's"
                )
                alone = MadeOn(made_on.reference, (), ())
                return await anyio.to_thread.run_sync(
                    reproducible, layout, self.epoch, alone, folder / "blobs-alone"
                )
        except ReproducibleError as error:
            raise PublishError(f"the {label} image: {error}") from None

    async def source(self, platform: Platform, reference: str) -> MadeOn:
        """The platform's image at reference as its registry holds it (read once); each
        layer's path is where its bytes are written if this process must fetch them."""
        key = (reference, platform)
        async with self._reading:
            if key not in self._sources:
                self._sources[key] = await self._read(platform, reference)
        return self._sources[key]

    async def _read(self, platform: Platform, reference: str) -> MadeOn:
        repository, name = image_reference(reference)
        try:
            found = await self.clients[repository.registry].source_image(repository, name, platform)
        except RegistryError as error:
            raise PublishError(
                f"cannot read the layers of {reference}, which {platform} images were made "
                f"on: {error}"
            ) from None
        folder = self.workdir / "made-on"
        for layer in found.layers:
            self._origins.setdefault(layer.digest, layer)
        return MadeOn(
            reference,
            tuple(
                Blob(
                    layer.media_type,
                    layer.digest,
                    layer.size,
                    folder / layer.digest.replace(":", "-"),
                )
                for layer in found.layers
            ),
            tuple(layer.diff_id for layer in found.layers),
            found.history,
        )

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
                made[key] = await self.image(container, *key)
                finished[key[0]] = time.monotonic()

        with sole_error_unwrapped():
            async with anyio.create_task_group() as group:
                for key, container in containers.items():
                    group.start_soon(one, key, container)
        for platform in sorted({key[0] for key in made}):
            mine = [image for key, image in made.items() if key[0] == platform]
            kept = sum(layer.digest in self._origins for image in mine for layer in image.layers)
            total = sum(len(image.layers) for image in mine)
            remade_here = self._remade.get(platform, 0)
            self.say(
                f"reproducible: {platform}: {len(mine)} images, {total - kept} layers rewritten "
                f"at {self.epoch} (the commit's time), {kept} kept from the registry"
                + (f" ({remade_here} re-made by the engine, same files)" if remade_here else "")
                + f", in {finished[platform] - started[platform]:.1f} s"
            )
        return made

    async def push(self, image: ReproducibleImage, repository: Repository, tag: str) -> str:
        """The image's blobs, then its manifest as repository:tag; returns the reference
        with its digest. A kept layer this process has no bytes of is fetched from where
        it was made on, when the repository can neither hold nor mount it already."""
        client = self.clients[repository.registry]
        for blob in image.blobs:
            await client.put_blob(repository, blob, self.sources, partial(self._fetch, blob))
        digest = await client.put_manifest(repository, tag, image.manifest, OCI_MANIFEST)
        return f"{repository.tagged(tag)}@{digest}"

    async def _fetch(self, blob: Blob) -> None:
        """The blob's bytes at its path, fetched (once) from where it was made on."""
        origin = self._origins.get(blob.digest)
        async with self._reading:
            if origin is None or blob.path.exists():
                return
            try:
                await self.clients[origin.repository.registry].get_blob(
                    origin.repository, blob.digest, blob.path
                )
            except RegistryError as error:
                raise PublishError(f"cannot fetch the layer {blob.digest}: {error}") from None


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
