"""The portable Go cache's names, stores and checks, without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ci.cli import app
from ci.core.go_cache import (
    LABEL,
    CacheStoreError,
    DirectoryStore,
    GoCacheKey,
    RegistryStore,
    engine_file_digest,
    go_version,
    mismatch,
    newest_with_prefix,
    parse_store,
)
from ci.core.platforms import parse_platform

KEY = GoCacheKey(
    go_version="go1.26.8",
    go_image_digest="sha256:" + "ab" * 32,
    platform=parse_platform("linux/amd64"),
    go_sum="cd" * 32,
)


def test_an_entry_is_named_by_go_image_platform_then_go_sum() -> None:
    assert KEY.prefix == "go1.26.8-abababababab-linux-amd64"
    assert KEY.name == f"{KEY.prefix}-cdcdcdcdcdcd"
    arm64 = GoCacheKey(KEY.go_version, KEY.go_image_digest, parse_platform("linux/arm64"), "x")
    assert arm64.prefix != KEY.prefix


def test_an_entry_fits_its_key_and_another_go_sum() -> None:
    assert mismatch(KEY.labels(), KEY) == ""
    other_sum = {**KEY.labels(), f"{LABEL}.go-sum": "ef" * 32}
    assert mismatch(other_sum, KEY) == ""


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("platform", "linux/arm64", "made for platform linux/arm64, this build uses linux/amd64"),
        ("go-version", "go1.20.0", "made for Go go1.20.0, this build uses go1.26.8"),
        ("go-image", "sha256:00", "made for Go image sha256:00"),
        ("format", "1", "it has format 1, this antrea-ci reads 2"),
    ],
)
def test_an_entry_of_another_go_platform_or_format_does_not_fit(
    field: str, value: str, said: str
) -> None:
    assert said in mismatch({**KEY.labels(), f"{LABEL}.{field}": value}, KEY)


def test_the_go_version_is_gos_own_name_of_the_images_golang_version() -> None:
    assert go_version("1.26.8") == "go1.26.8"
    assert go_version("1.27rc1\n") == "go1.27rc1"


def test_the_engines_digest_of_a_file_is_the_sha256_of_its_sha256() -> None:
    # Measured: this README's sha256 and Dagger 0.21.8's File.digest(excludeMetadata) of it.
    readme = "366fb7f90d87ef536e78ccc5d47367ab80bff48ace736bbd0487525164da2d9b"
    assert engine_file_digest(readme) == (
        "sha256:620a752e1595d37328e8ab302942c7484b37108630c7a062ac75aff5cf63a7bd"
    )
    assert engine_file_digest("not a digest") == ""


def test_an_image_that_is_not_an_entry_does_not_fit() -> None:
    assert mismatch({"org.opencontainers.image.title": "x"}, KEY) == (
        "it is not an antrea-ci Go cache"
    )


def test_stores_are_directories_or_registry_repositories() -> None:
    assert parse_store("/var/cache/go") == DirectoryStore(Path("/var/cache/go"))
    assert parse_store("./cache") == DirectoryStore(Path("./cache"))
    assert parse_store("~/.cache/antrea-ci") == DirectoryStore(Path.home() / ".cache/antrea-ci")
    store = parse_store("ghcr.io/antrea-io/antrea-ci-go-cache")
    assert isinstance(store, RegistryStore)
    assert str(store) == "ghcr.io/antrea-io/antrea-ci-go-cache"
    for bad in ("", "Ghcr.io/UPPER/case:tag", "ghcr.io/x@sha256:00"):
        with pytest.raises(CacheStoreError):
            parse_store(bad)


def test_the_newest_entry_of_a_prefix_is_the_fallback() -> None:
    saved = [(f"{KEY.prefix}-aaa", 10.0), (f"{KEY.prefix}-bbb", 30.0), ("go1.25.0-x-y-ccc", 50.0)]
    assert newest_with_prefix(saved, KEY.prefix) == f"{KEY.prefix}-bbb"
    assert newest_with_prefix(saved, "go1.24.0") is None


def test_a_bad_store_is_a_usage_error_before_anything_connects() -> None:
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    fixture = Path(__file__).parents[1] / "fixtures/antrea-mini"
    result = runner.invoke(app, ["build", "--source", str(fixture), "--cache-from", "Not A Store"])
    assert result.exit_code == 2
    assert "neither a directory" in result.output
