"""The cache volumes Go works in on the engine's platform, empty or seeded from an entry."""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

MODULE_VOLUME = "antrea-ci-go-mod"
BUILD_VOLUME = "antrea-ci-go-build"


@dataclass(frozen=True)
class GoCacheVolumes:
    """Go's module cache and build cache, one volume object each that every mount of a call
    shares (a volume's seed is part of its identity: two objects would be two volumes)."""

    modules: dagger.CacheVolume
    build: dagger.CacheVolume

    @classmethod
    def empty(cls) -> GoCacheVolumes:
        """The volumes as the engine keeps them between runs (empty on a new engine)."""
        return cls(dag.cache_volume(MODULE_VOLUME), dag.cache_volume(BUILD_VOLUME))

    @classmethod
    def seeded(cls, modules: dagger.Directory, build: dagger.Directory) -> GoCacheVolumes:
        """Volumes seeded from a cache entry's two caches, unpacked (the seed is read-only
        below what Go writes; nothing is copied)."""
        return cls(
            dag.cache_volume(MODULE_VOLUME, source=modules),
            dag.cache_volume(BUILD_VOLUME, source=build),
        )
