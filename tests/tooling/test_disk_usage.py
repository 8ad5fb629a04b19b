"""The disk line .ci/run and the benchmarks print."""

from tests.support.disk_usage import EngineCacheUsage, describe

GB = 1_000_000_000


def test_the_line_names_each_store_and_the_volume_against_what_the_engine_counts() -> None:
    usage = EngineCacheUsage(
        used=5_800_000_000, entries=6619, max_used=40 * GB, min_free=10 * GB, reserved=8 * GB
    )
    line = describe(usage, volume=10_200_000_000, registries=1_300_000_000, caches=9_500_000_000)
    assert line == (
        "engine cache 5.8 GB in 6619 entries (budget 40.0 GB, pruned while under 10.0 GB of "
        "the disk is free, never below 8.0 GB); engine state volume 10.2 GB (1.8x the engine's "
        "count); registries 1.3 GB; other caches 8.2 GB"
    )


def test_an_empty_cache_has_no_ratio() -> None:
    usage = EngineCacheUsage(used=0, entries=0, max_used=40 * GB, min_free=10 * GB, reserved=8 * GB)
    line = describe(usage, volume=700_000_000, registries=0, caches=0)
    assert "engine state volume 0.7 GB;" in line
