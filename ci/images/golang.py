"""Go builds, cross-compiled on the engine's native platform for any target platform."""

from __future__ import annotations

import shlex

import dagger
from dagger import dag

from ci.cache.volumes import GoCacheVolumes
from ci.core.platforms import Platform
from ci.core.versions import AntreaVersion
from ci.images import ContainerStep

GO_MOD_CACHE = "/go/pkg/mod"
GO_BUILD_CACHE = "/root/.cache/go-build"
SOURCE_DIR = "/src"

# Where each kept CNI plugin lives in github.com/containernetworking/plugins.
CNI_PLUGIN_PACKAGES = {
    "host-local": "plugins/ipam/host-local",
    "loopback": "plugins/main/loopback",
    "portmap": "plugins/meta/portmap",
    "bandwidth": "plugins/meta/bandwidth",
}
CNI_PLUGINS_MODULE = "github.com/containernetworking/plugins"
# The -ldflags of iptables-wrappers' `make build` (its Makefile at the pinned commit).
WRAPPER_LDFLAGS = '-s -w -extldflags="-static" -buildid=""'


def go_caches(caches: GoCacheVolumes) -> ContainerStep:
    """Mount Go's module and build caches; use the image's Go only."""

    def apply(container: dagger.Container) -> dagger.Container:
        return (
            container.with_mounted_cache(GO_MOD_CACHE, caches.modules)
            .with_mounted_cache(GO_BUILD_CACHE, caches.build)
            .with_env_variable("GOMODCACHE", GO_MOD_CACHE)
            .with_env_variable("GOCACHE", GO_BUILD_CACHE)
            .with_env_variable("GOTOOLCHAIN", "local")
        )

    return apply


def go_builder(
    go_image: str, caches: GoCacheVolumes, platform: Platform | None = None
) -> dagger.Container:
    """A Go container with module and build caches, on the engine's own platform unless
    another is given (emulated: only benchmarks do that, to show what it costs).

    The caches are shared by every target platform: Go keys its build cache by GOARCH.
    """
    where = dagger.Platform(str(platform)) if platform else None
    return (
        dag.container(platform=where)
        .from_(go_image)
        .with_(go_caches(caches))
        .with_env_variable("CGO_ENABLED", "0")
    )


def cross_compiling(container: dagger.Container, platform: Platform) -> dagger.Container:
    """The container with Go's environment set to build for the platform."""
    for name, value in platform.go_env.items():
        container = container.with_env_variable(name, value)
    if not platform.facts.goarm:
        container = container.without_env_variable("GOARM")
    return container


def by_content(directory: dagger.Directory, names: list[str]) -> dagger.Directory:
    """The named files of a build's output directory, in a directory Dagger keys by their
    content: a step that uses it hits the cache whatever built the files. (Go builds mount
    cache volumes, which Dagger namespaces by module: `dagger call` and `antrea-ci` build
    the same binaries in steps of different keys.)"""
    files = dag.directory()
    for name in names:
        files = files.with_file(name, directory.file(name))
    return files


def antrea_binaries(
    builder: dagger.Container,
    source: dagger.Directory,
    platform: Platform,
    version: AntreaVersion,
    module_path: str,
    commands: list[str],
) -> dagger.Directory:
    """Cross-compile Antrea commands (cmd/<name>) for the platform; one binary per command.

    `go build` fetches the modules it needs and no more (the Go cache keeps what it
    extracted, not the zips: see ci/cache/entries.py)."""
    packages = [f"./cmd/{name}" for name in commands]
    return (
        cross_compiling(builder, platform)
        .with_mounted_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
        .with_exec(
            [
                "go",
                "build",
                "-trimpath",
                "-ldflags",
                version.ldflags(module_path),
                "-o",
                "/out/",
                *packages,
            ]
        )
        .directory("/out")
        .with_(lambda out: by_content(out, commands))
    )


def cni_plugins(
    builder: dagger.Container, platform: Platform, version: str, names: tuple[str, ...]
) -> dagger.Directory:
    """Build the kept CNI plugins at a pinned version from the Go module proxy."""
    unknown = sorted(set(names) - CNI_PLUGIN_PACKAGES.keys())
    if unknown:
        raise ValueError(f"no package known for CNI plugins {', '.join(unknown)}")
    packages = [f"{CNI_PLUGINS_MODULE}/{CNI_PLUGIN_PACKAGES[name]}" for name in names]
    script = " && ".join(
        [
            "go mod init antrea-ci/cni-plugins",
            "go get " + shlex.join(f"{package}@{version}" for package in packages),
            "go build -trimpath -ldflags '-s -w' -o /out/ " + shlex.join(packages),
        ]
    )
    return (
        cross_compiling(builder, platform)
        .with_workdir("/build/cni-plugins")
        .with_exec(["sh", "-ec", script])
        .directory("/out")
        .with_(lambda out: by_content(out, list(names)))
    )


def iptables_wrapper(
    builder: dagger.Container, source: dagger.Directory, platform: Platform
) -> dagger.Directory:
    """Build kubernetes-sigs/iptables-wrappers: the wrapper binary (with the flags of its
    own `make build`, which upstream's base image runs, so that both are the same binary)
    and its installer script."""
    return (
        cross_compiling(builder, platform)
        .with_mounted_directory(SOURCE_DIR, source)
        .with_workdir(SOURCE_DIR)
        .with_exec(
            [
                *["go", "build", "-ldflags", WRAPPER_LDFLAGS, "-trimpath"],
                *["-o", "/out/iptables-wrapper", "."],
            ]
        )
        .with_exec(["cp", "iptables-wrapper-installer.sh", "/out/"])
        .directory("/out")
        .with_(lambda out: by_content(out, ["iptables-wrapper", "iptables-wrapper-installer.sh"]))
    )
