"""A release already in a registry, as a publish that must not move it finds it."""

from __future__ import annotations

import uuid

import dagger
from dagger import dag

from ci.core.platforms import parse_platform
from ci.core.references import arch_tag, parse_repository
from ci.release.push import push_indexes
from tests.support.registry_api import tag_digest
from tests.support.testbed import OfflineTestBed

RELEASED = ("antrea-agent-ubuntu", "antrea-controller-ubuntu", "flow-aggregator")


async def occupy(engine: OfflineTestBed, namespace: str, tag: str, platform: str) -> dict[str, str]:
    """Push other content (a file of a new name in the distribution image) under every tag
    a publish of `tag` for the platform writes: the per-arch tags, then their index under
    `tag`. Returns what each tag holds: reference -> digest."""
    target = parse_platform(platform)
    per_arch = arch_tag(tag, target)
    images = [parse_repository(f"{namespace}/{name}") for name in RELEASED]
    marker = uuid.uuid4().hex
    for image in images:
        await (
            dag.container(platform=dagger.Platform(platform))
            .from_(engine.distro_image)
            .with_new_file(f"/{marker}", marker)
            .publish(image.tagged(per_arch))
        )
    await push_indexes(images, {target: per_arch}, [tag], [])
    return held(namespace, tag, platform)


def held(namespace: str, tag: str, platform: str) -> dict[str, str]:
    """What the per-arch and multi-arch tags of each released image hold now."""
    per_arch = arch_tag(tag, parse_platform(platform))
    found: dict[str, str] = {}
    for name in RELEASED:
        for written in (per_arch, tag):
            reference = f"{namespace}/{name}:{written}"
            digest = tag_digest(reference)
            if digest:
                found[reference] = digest
    return found
