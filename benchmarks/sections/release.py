"""7. What a release builds from this tree and OVS tarball, and each image's size."""

from __future__ import annotations

import uuid
from functools import partial

from benchmarks.common import Bench, prune, pushed_size, timed
from benchmarks.figures import Comparison
from ci.core.catalog import IMAGE_NAMES
from ci.core.platforms import parse_platform
from ci.release.release import Release
from tests.support.registry_api import split_reference


async def measure(bench: Bench, runs: int, fixture: Bench) -> None:
    """Every image of linux/arm64 cold (the OVS .debs built under emulation), the same with
    the base images from the registry, linux/amd64 cold (native); each image's size against
    the fixture's (compressed, as a node pulls it)."""
    arm64, amd64 = "linux/arm64", "linux/amd64"
    emulated = bench.figure(f"all images {arm64}, cold (OVS built under emulation)")
    reused = bench.figure(f"all images {arm64}, cold but base images from the registry")
    native = bench.figure(f"all images {amd64}, cold")
    sizes = {
        image: bench.figure(f"size of {name} {arm64}", "MiB") for image, name in IMAGE_NAMES.items()
    }
    fixture_sizes = {
        image: bench.figure(f"size of {name} {arm64}, fixture", "MiB")
        for image, name in IMAGE_NAMES.items()
    }
    for _ in range(runs):
        await prune()
        bench.add(emulated, await timed(lambda: bench.build_all(arm64)))
        bases = f"{bench.testbed.registry}/benchmark-bases-{uuid.uuid4().hex[:8]}"
        for image, size in (await pushed_sizes(bench, arm64, bases)).items():
            bench.add(sizes[image], size)
        await prune()
        bench.add(reused, await timed(partial(bench.build_all, arm64, bases)))
        await prune()
        bench.add(native, await timed(lambda: bench.build_all(amd64)))
        scratch = f"{bench.testbed.registry}/benchmark-bases-{uuid.uuid4().hex[:8]}"
        for image, size in (await pushed_sizes(fixture, arm64, scratch)).items():
            bench.add(fixture_sizes[image], size)
    bench.comparisons.append(Comparison("base images reused", emulated, reused))
    bench.comparisons += [
        Comparison(f"{name} real against fixture", sizes[image], fixture_sizes[image])
        for image, name in IMAGE_NAMES.items()
    ]


async def pushed_sizes(bench: Bench, platform: str, namespace: str) -> dict[str, float]:
    """Push every image of one platform (publish-base, publish-arch) to NAMESPACE; each
    image's size in MiB: config and layers as the registry holds them."""
    references: dict[str, str] = {}
    target = parse_platform(platform)

    async def push() -> None:
        release = Release(bench.builder())
        pushed = [
            *await release.publish_base(namespace, [target], True),
            *await release.publish_arch([namespace], "size", target),
        ]
        for reference in pushed:
            repository = split_reference(reference)[1].rpartition("/")[2]
            for image, name in IMAGE_NAMES.items():
                if name == repository:
                    references[image] = reference

    await timed(push)
    return {image: pushed_size(reference) / 2**20 for image, reference in references.items()}
