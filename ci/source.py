"""An Antrea source tree: what it must contain, and its version (reads the tree via dag)."""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from ci.versions import AntreaVersion, SourceError, parse_module_path, parse_version_file

REQUIRED_FILES = ("go.mod", "VERSION")
REQUIRED_COMMANDS = (
    "antrea-agent",
    "antrea-cni",
    "antrea-sysctl-init",
    "antctl",
    "antrea-controller",
)
REQUIRED_DIRS = ("build/images/scripts",)


def missing_paths(root: set[str], commands: set[str], scripts_present: bool) -> list[str]:
    """The paths an Antrea tree must have that a listing lacks (pure)."""
    missing = [name for name in REQUIRED_FILES if name not in root]
    missing += [f"cmd/{name}" for name in REQUIRED_COMMANDS if name not in commands]
    if not scripts_present:
        missing += list(REQUIRED_DIRS)
    return missing


@dataclass(frozen=True)
class AntreaSource:
    """A checked Antrea tree with the version its binaries and images carry."""

    directory: dagger.Directory
    module_path: str
    version: AntreaVersion


async def _entries(directory: dagger.Directory, path: str) -> set[str]:
    try:
        return {entry.rstrip("/") for entry in await directory.directory(path).entries()}
    except dagger.QueryError:
        return set()


async def _git_state(directory: dagger.Directory, git_image: str) -> tuple[str, bool]:
    """Short SHA and dirtiness of the tree's git checkout, or ("", False) without .git."""
    script = (
        "git config --global --add safe.directory /src && "
        "git -C /src rev-parse --short HEAD && "
        "git -C /src status --porcelain --untracked-files=no | wc -l"
    )
    output = await (
        dag.container()
        .from_(git_image)
        .with_mounted_directory("/src", directory)
        .with_exec(["sh", "-ec", script])
        .stdout()
    )
    sha, changed = output.split()
    return sha, int(changed) > 0


async def load_source(
    directory: dagger.Directory, git_image: str, *, released: bool = False
) -> AntreaSource:
    """Check that the directory is an Antrea tree and read its version.

    Raises SourceError naming what is missing when it is not an Antrea tree.
    """
    root = await _entries(directory, ".")
    commands = await _entries(directory, "cmd")
    scripts = bool(await _entries(directory, "build/images/scripts"))
    missing = missing_paths(root, commands, scripts)
    if missing:
        raise SourceError(
            "the source directory is not an Antrea tree: it has no " + ", ".join(missing)
        )
    module_path = parse_module_path(await directory.file("go.mod").contents())
    version = parse_version_file(await directory.file("VERSION").contents())
    sha, dirty = ("", False)
    if ".git" in root:
        sha, dirty = await _git_state(directory, git_image)
        # The version now carries the commit: builds and tests need the tree only, so a
        # new commit that changes no file is served from cache.
        directory = directory.without_directory(".git")
    return AntreaSource(directory, module_path, AntreaVersion(version, sha, dirty, released))
