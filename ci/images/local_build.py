"""`antrea-ci build`: platforms built at once, their stages timed, OCI tarballs written
(unchanged ones kept), and optionally loaded into the local Docker daemon."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import dagger

from ci.core import export_stamp
from ci.core.catalog import BASES, BUILT_ON, IMAGE_NAMES, local_names
from ci.core.platforms import Platform
from ci.core.say import Say, to_stderr
from ci.core.timings import StageTimes, image_tarball_name, progress_line
from ci.images.builder import ImageBuilder, Images, Plan, PlatformPlan
from ci.images.docker_load import load_image


@dataclass
class LocalBuild:
    """Builds platforms into OCI tarballs in `output`, recording each stage in `times` and
    saying each line of progress through `say`."""

    builder: ImageBuilder
    output: Path
    times: StageTimes
    suricata: bool = True
    load: bool = False
    say: Say = field(default=to_stderr)

    def _done(
        self,
        platform: str,
        stage: str,
        seconds: float,
        emulated: bool = False,
        pulled: bool = False,
        record: bool = True,
    ) -> None:
        if record:
            done = self.times.record(platform, stage, seconds, emulated, pulled)
        else:
            done = self.times.measure(platform, stage, seconds, emulated, pulled)
        self.say(progress_line(done))

    async def run(self, platforms: Sequence[Platform | None]) -> None:
        """Build the platforms (the engine's for None) concurrently from one plan."""
        self.output.mkdir(parents=True, exist_ok=True)
        targets = [await self.builder.target(platform) for platform in platforms]
        plan = await self.builder.plan(targets, self.suricata)
        async with anyio.create_task_group() as group:
            for platform in platforms:
                group.start_soon(self._one, plan, platform)
        await self.builder.save_go_cache(plan)

    async def _one(self, plan: Plan, platform: Platform | None) -> None:
        started = time.monotonic()
        target = await self.builder.target(platform)
        platform_plan = await self.builder.platform_plan(plan, target, self.suricata)
        images = await self.builder.images(platform_plan)
        if not self.times.versions:
            self.times.versions = images.versions
            self.say("versions: " + "; ".join(images.versions))
        self._done(images.platform, "plan", time.monotonic() - started, images.emulated)
        await self._sync(images, time.monotonic())
        await self._export(platform_plan, images)
        if self.load:
            await self._load(images)
        self.times.took(images.platform, time.monotonic() - started)

    async def _sync(self, images: Images, planned: float) -> None:
        """Build the platform's images at once; each stage's time runs from when the image
        it is built on was done (BUILT_ON), else from the plan. Recorded in build order."""
        finished: dict[str, float] = {}
        ready = {name: anyio.Event() for name in IMAGE_NAMES}
        seconds: dict[str, float] = {}

        def pulled(name: str) -> bool:
            return name in BASES and bool(images.bases_from)

        async def sync(name: str) -> None:
            container: dagger.Container = getattr(images, name)
            await container.sync()
            now = time.monotonic()
            after = BUILT_ON[name]
            if after:
                await ready[after].wait()
            begun = finished[after] if after else planned
            finished[name] = max(now, begun)
            seconds[name] = finished[name] - begun
            ready[name].set()
            self._done(
                images.platform, name, seconds[name], images.emulated, pulled(name), record=False
            )

        async with anyio.create_task_group() as group:
            for name in IMAGE_NAMES:
                group.start_soon(sync, name)
        for name in IMAGE_NAMES:
            self.times.record(images.platform, name, seconds[name], images.emulated, pulled(name))

    async def _export(self, plan: PlatformPlan, images: Images) -> None:
        """Each image's OCI tarball, but those whose fingerprint says they hold it already."""
        started = time.monotonic()
        kept = []
        fingerprints = await self.builder.fingerprints(plan, images)
        for name in IMAGE_NAMES:
            tarball = self.output / image_tarball_name(IMAGE_NAMES[name], images.platform)
            if export_stamp.unchanged(tarball, fingerprints[name]):
                kept.append(tarball.name)
                continue
            export_stamp.forget(tarball)
            await getattr(images, name).export(str(tarball))
            export_stamp.record(tarball, fingerprints[name])
        if kept:
            self.say(f"unchanged, not exported again: {', '.join(kept)}")
        self._done(images.platform, "export", time.monotonic() - started, images.emulated)

    async def _load(self, images: Images) -> None:
        """The released images into the local Docker daemon under upstream's names."""
        started = time.monotonic()
        for name, local in local_names().items():
            tarball = self.output / image_tarball_name(IMAGE_NAMES[name], images.platform)
            await load_image(tarball, local)
            self.say(f"loaded {local} ({images.platform})")
        self._done(images.platform, "load", time.monotonic() - started, images.emulated)
