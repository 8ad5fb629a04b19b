"""The built-in SDK content the test bed's engine carries, without an engine."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath

from tests.engine.sdk_content import Layer, bundled_uv_version, locked_version, python_sdk_keeps


def test_the_python_sdk_keeps_its_sources_runtime_and_codegen() -> None:
    kept = [
        "pyproject.toml",
        "uv.lock",
        "LICENSE",
        "README.md",
        "src/dagger/__init__.py",
        "src/dagger/py.typed",
        "src/dagger/mod/_module.py",
        "codegen/pyproject.toml",
        "codegen/src/codegen/cli.py",
        "runtime/main.go",
        "runtime/images/base/Dockerfile",
    ]
    assert all(python_sdk_keeps(PurePosixPath(path)) for path in kept)


def test_the_python_sdk_leaves_out_the_clients_provisioning_tests_and_docs() -> None:
    left_out = [
        "src/dagger/provisioning/_session.py",
        "src/dagger/_engine/_version.py",
        "src/dagger/data.json",
        "tests/test_client.py",
        "docs/conf.py",
        "CHANGELOG.md",
        "ruff.toml",
    ]
    assert not any(python_sdk_keeps(PurePosixPath(path)) for path in left_out)


def test_the_locked_version_comes_from_uv_lock(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\n\n[[package]]\nname = "anyio"\nversion = "4.9.0"\n\n'
        '[[package]]\nname = "graphql-core"\nversion = "3.2.7"\n'
    )
    assert locked_version(lock, "graphql-core") == "3.2.7"


def test_a_layer_holds_every_directory_above_its_files_once(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "layer.tar", "w") as tar:
        layer = Layer(tar)
        layer.directory("go/pkg/mod")
        layer.file("go/pkg/mod/cache/x", b"x", 0o644)
        layer.file("top", b"top", 0o755)
    with tarfile.open(tmp_path / "layer.tar") as tar:
        names = [(member.name, member.isdir()) for member in tar]
        top = tar.extractfile("top")
        assert top is not None and io.BytesIO(top.read()).read() == b"top"
    assert names == [
        ("go", True),
        ("go/pkg", True),
        ("go/pkg/mod", True),
        ("go/pkg/mod/cache", True),
        ("go/pkg/mod/cache/x", False),
        ("top", False),
    ]


def test_uv_is_the_version_the_runtime_bundles() -> None:
    dockerfile = "# uv\nFROM ghcr.io/astral-sh/uv:0.10.3@sha256:7a88d4c4 AS uv\n"
    assert bundled_uv_version(dockerfile) == "0.10.3"
    assert bundled_uv_version("FROM ghcr.io/astral-sh/uv:0.11.0\n") == "0.11.0"
