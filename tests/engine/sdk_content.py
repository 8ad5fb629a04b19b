"""Lay out the Go and Python SDKs the engine loads as built-in content, offline.

The engine loads a built-in SDK from a data-only OCI image in its content store
(/usr/local/share/dagger/content/blobs/sha256), named by the digest of that image's manifest
in DAGGER_GO_SDK_MANIFEST_DIGEST and DAGGER_PYTHON_SDK_MANIFEST_DIGEST. The Python SDK's
runtime is itself a module of the Go SDK, so `dagger call` on a Python module needs both:
  - Go: a Debian rootfs with git and CA certificates, the Go toolchain, Dagger's codegen on
    PATH, and the module and build cache directories the engine mounts (empty here);
  - Python: the SDK's sources and runtime module from Dagger's source tarball, with uv and
    uvx (from PyPI's uv wheel) and the codegen as a zipapp under dist/.
Both are single-platform images of the engine's platform. Writes OUT/blobs/sha256 (both
images' blobs, what the engine image carries) and OUT/digests.env (the two variables).

Usage: PYTHONPATH=<clone> sdk_content.py OUT --source DAGGER_SRC_TARBALL --codegen BIN --rootfs TAR
       --go-toolchain TAR --platform linux/amd64 [--layer TAR ...]
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

from tests.engine import oci_image

UV_IMAGE = "ghcr.io/astral-sh/uv"
GO_ENV = [
    "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "GOPATH=/go",
    # Never download another toolchain; no C toolchain is needed for a module's runtime.
    "GOTOOLCHAIN=local",
    "CGO_ENABLED=0",
]
# The directories the engine turns into the Go SDK's module and build cache volumes.
GO_CACHE_DIRS = ("go/pkg/mod", "root/.cache/go-build")
# What of sdk/python the runtime reads; the client's own provisioning is left out.
PYTHON_SDK_TOP = ("pyproject.toml", "uv.lock", "LICENSE", "README.md")
PYTHON_SDK_TREES = ("codegen", "runtime")
PYTHON_SDK_LEFT_OUT = ("src/dagger/_engine", "src/dagger/provisioning")


def python_sdk_keeps(path: PurePosixPath) -> bool:
    """Whether a file of sdk/python (path relative to it) belongs in the SDK's content."""
    text = path.as_posix()
    if text in PYTHON_SDK_TOP or path.parts[0] in PYTHON_SDK_TREES:
        return True
    if path.parts[0] != "src" or any(text.startswith(f"{d}/") for d in PYTHON_SDK_LEFT_OUT):
        return False
    return path.suffix in (".py", ".typed")


class Layer:
    """A layer tar being written; the directories above each file come first."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.directories: set[str] = set()

    def directory(self, name: str) -> None:
        path = PurePosixPath(name)
        for each in [*reversed(path.parents[:-1]), path]:
            if each.as_posix() not in self.directories:
                self.directories.add(each.as_posix())
                info = tarfile.TarInfo(each.as_posix())
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                self.tar.addfile(info)

    def file(self, name: str, data: bytes, mode: int) -> None:
        parent = PurePosixPath(name).parent
        if parent != PurePosixPath("."):
            self.directory(parent.as_posix())
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        self.tar.addfile(info, io.BytesIO(data))


def _python_sdk_files(source: Path, into: Layer, unpacked: Path) -> Path:
    """Add the kept files of the tarball's sdk/python to the layer; sdk/python unpacked."""
    with tarfile.open(source) as tarball:
        for member in tarball:
            parts = PurePosixPath(member.name).parts
            if len(parts) < 4 or parts[1:3] != ("sdk", "python") or not member.isfile():
                continue
            relative = PurePosixPath(*parts[3:])
            extracted = tarball.extractfile(member)
            assert extracted is not None
            data = extracted.read()
            (unpacked / relative).parent.mkdir(parents=True, exist_ok=True)
            (unpacked / relative).write_bytes(data)
            if python_sdk_keeps(relative):
                into.file(relative.as_posix(), data, member.mode & 0o755 or 0o644)
    return unpacked


def locked_version(lock: Path, package: str) -> str:
    """The version uv.lock gives a package."""
    for entry in tomllib.loads(lock.read_text())["package"]:
        if entry["name"] == package:
            return str(entry["version"])
    raise SystemExit(f"{lock} locks no {package}")


def bundled_uv_version(dockerfile: str) -> str:
    """The uv version the SDK's runtime bundles: its uv image's tag."""
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["FROM"] and words[1].startswith(UV_IMAGE + ":"):
            return words[1].removeprefix(UV_IMAGE + ":").split("@")[0]
    raise SystemExit(f"no FROM {UV_IMAGE}:<version> in the runtime's uv Dockerfile")


def _run(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], check=True, stdout=sys.stderr)


def _uv_binaries(wheel: Path, into: Path) -> dict[str, Path]:
    """uv and uvx from uv's wheel (the scripts of its .data directory)."""
    found: dict[str, Path] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            path = PurePosixPath(name)
            if len(path.parts) == 3 and path.parts[1] == "scripts" and path.name in ("uv", "uvx"):
                found[path.name] = into / path.name
                found[path.name].write_bytes(archive.read(name))
    if set(found) != {"uv", "uvx"}:
        raise SystemExit(f"{wheel} holds no uv and uvx scripts")
    return found


def _python_dist(sdk: Path, work: Path, machine: str) -> dict[str, Path]:
    """dist/ of the Python SDK: uv and uvx at the version its runtime bundles (PyPI's static
    musl wheel for the machine) and the codegen as a zipapp (shiv) with the graphql-core
    uv.lock gives."""
    uv_version = bundled_uv_version((sdk / "runtime/images/uv/Dockerfile").read_text())
    _run(
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--platform", f"musllinux_1_1_{machine}", "--dest", work, f"uv=={uv_version}",
    )  # fmt: skip
    (wheel,) = work.glob("uv-*.whl")
    dist = _uv_binaries(wheel, work)
    tools = work / "tools"
    _run(sys.executable, "-m", "venv", tools)
    _run(tools / "bin/pip", "install", "--quiet", "shiv==1.0.8")
    graphql = locked_version(sdk / "uv.lock", "graphql-core")
    dist["codegen"] = work / "codegen.pyz"
    _run(
        tools / "bin/shiv", "--reproducible", "--compressed", "--python", "/usr/bin/env python3",
        "-e", "codegen.cli:main", "-o", dist["codegen"],
        sdk / "codegen", f"graphql-core=={graphql}",
    )  # fmt: skip
    return dist


def _python_layer(source: Path, work: Path, machine: str) -> Path:
    layer_path = work / "python-sdk.tar"
    with tarfile.open(layer_path, "w") as tar:
        layer = Layer(tar)
        sdk = _python_sdk_files(source, layer, work / "sdk-python")
        for name, path in _python_dist(sdk, work, machine).items():
            layer.file(f"dist/{name}", path.read_bytes(), 0o755)
    return layer_path


def _go_layer(codegen: Path, work: Path) -> Path:
    layer_path = work / "go-sdk.tar"
    with tarfile.open(layer_path, "w") as tar:
        layer = Layer(tar)
        for directory in GO_CACHE_DIRS:
            layer.directory(directory)
        layer.file("usr/local/bin/codegen", codegen.read_bytes(), 0o755)
    return layer_path


def _image(
    blobs: Path, work: Path, name: str, platform: str, layers: list[Path], env: list[str]
) -> str:
    """One single-platform image; its blobs copied into blobs/; its manifest's digest."""
    layout = work / name
    (manifest,) = oci_image.build(layout, {platform: layers}, env, [])
    for blob in (layout / "blobs" / "sha256").iterdir():
        shutil.copyfile(blob, blobs / blob.name)
    return str(manifest["digest"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--codegen", type=Path, required=True)
    parser.add_argument("--rootfs", type=Path, required=True)
    parser.add_argument("--go-toolchain", type=Path, required=True)
    parser.add_argument("--platform", required=True)
    parser.add_argument(
        "--layer", type=Path, action="append", default=[], help="one more layer of the Go SDK"
    )
    args = parser.parse_args()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}[args.platform.split("/")[1]]
    with tempfile.TemporaryDirectory(prefix="sdk-content-") as temporary:
        work = Path(temporary)
        staged = work / "out"
        blobs = staged / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        go_layers = [args.rootfs, args.go_toolchain, _go_layer(args.codegen, work), *args.layer]
        go = _image(blobs, work, "go", args.platform, go_layers, GO_ENV)
        python_layer = _python_layer(args.source, work, machine)
        python = _image(blobs, work, "python", args.platform, [python_layer], [])
        (staged / "digests.env").write_text(
            f"DAGGER_GO_SDK_MANIFEST_DIGEST={go}\nDAGGER_PYTHON_SDK_MANIFEST_DIGEST={python}\n"
        )
        shutil.rmtree(args.out, ignore_errors=True)
        shutil.move(staged, args.out)


if __name__ == "__main__":
    main()
