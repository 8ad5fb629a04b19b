"""An Antrea source tree: what it must contain, and its version (reads the tree via dag)."""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from ci.core.versions import (
    BASE_DOCKERFILE,
    TREE_PIN_FILES,
    AntreaVersion,
    BuildVersions,
    SourceError,
    parse_module_path,
    parse_version_file,
    pins,
    tree_versions,
)

REQUIRED_FILES = ("go.mod", "VERSION")
REQUIRED_COMMANDS = (
    "antrea-agent",
    "antrea-cni",
    "antrea-sysctl-init",
    "antctl",
    "antrea-controller",
    "flow-aggregator",
)
REQUIRED_DIRS = ("build/images/scripts",)
# What of a checkout no stage reads (documentation, GitHub settings, release notes, what
# `make` built), left out of the upload by the module and the CLI alike. .git stays: the
# version names the commit and whether the tree changed since.
UPLOAD_EXCLUDES = [".github", "docs", "CHANGELOG", "bin"]


def without_unread(directory: dagger.Directory | None) -> dagger.Directory | None:
    """The tree without what no stage reads, as the CLI uploads it. (The module does this
    itself: Dagger 0.21.8's Ignore on an optional argument fails when it is not given.)

    `filter` keeps an uploaded directory keyed by its content, so the same tree has the
    same cache keys whichever front uploaded it, with excludes or without."""
    if directory is None:
        return None
    return directory.filter(exclude=UPLOAD_EXCLUDES)


def missing_paths(root: set[str], commands: set[str], scripts_present: bool) -> list[str]:
    """The paths an Antrea tree must have that a listing lacks (pure)."""
    missing = [name for name in REQUIRED_FILES if name not in root]
    missing += [f"cmd/{name}" for name in REQUIRED_COMMANDS if name not in commands]
    if not scripts_present:
        missing += list(REQUIRED_DIRS)
    return missing


@dataclass(frozen=True)
class AntreaTree:
    """A directory that has what an Antrea tree must have, with what it declares."""

    directory: dagger.Directory
    module_path: str
    version_file: str
    versions: BuildVersions
    has_git: bool


@dataclass(frozen=True)
class AntreaSource:
    """A checked Antrea tree with the version its binaries and images carry."""

    directory: dagger.Directory
    module_path: str
    version: AntreaVersion
    versions: BuildVersions


async def entries(directory: dagger.Directory, path: str) -> set[str]:
    """The names in directory/path (no trailing slashes); empty when there is no such path."""
    try:
        return {entry.rstrip("/") for entry in await directory.directory(path).entries()}
    except dagger.QueryError:
        return set()


async def _git_state(directory: dagger.Directory, git_image: str) -> tuple[str, bool, int]:
    """Short SHA, dirtiness and commit time (seconds) of the tree's git checkout.

    The paths left out of the upload (UPLOAD_EXCLUDES) are left out of the check: they are
    missing here, and git would call every tracked file under them deleted (seen: every
    build of Antrea's own checkout was `.dirty`). A change only there, in no image, leaves
    the version clean where upstream's Makefile would call it dirty."""
    script = (
        "git config --global --add safe.directory /src && "
        "git -C /src rev-parse --short HEAD && "
        "git -C /src log -1 --format=%ct HEAD && "
        "git -C /src status --porcelain --untracked-files=no -- . "
        + " ".join(f"':(exclude){path}'" for path in UPLOAD_EXCLUDES)
        + " | wc -l"
    )
    output = await (
        dag.container()
        .from_(git_image)
        .with_mounted_directory("/src", directory)
        .with_exec(["sh", "-ec", script])
        .stdout()
    )
    sha, epoch, changed = output.split()
    return sha, int(changed) > 0, int(epoch)


async def _pin_files(directory: dagger.Directory, go_mod: str) -> dict[str, str]:
    """The texts of the files that declare versions, for those the tree has."""
    files = {"go.mod": go_mod}
    deps = {f"build/images/deps/{name}" for name in await entries(directory, "build/images/deps")}
    for path in TREE_PIN_FILES.values():
        if path in deps:
            files[path] = await directory.file(path).contents()
    base_dir = BASE_DOCKERFILE.rsplit("/", 1)[0]
    if "Dockerfile" in await entries(directory, base_dir):
        files[BASE_DOCKERFILE] = await directory.file(BASE_DOCKERFILE).contents()
    return files


async def check_tree(directory: dagger.Directory) -> AntreaTree:
    """Check that the directory is an Antrea tree and read what it declares.

    Raises SourceError naming what is missing when it is not an Antrea tree.
    """
    root = await entries(directory, ".")
    commands = await entries(directory, "cmd")
    scripts = bool(await entries(directory, "build/images/scripts"))
    missing = missing_paths(root, commands, scripts)
    if missing:
        raise SourceError(
            "the source directory is not an Antrea tree: it has no " + ", ".join(missing)
        )
    go_mod = await directory.file("go.mod").contents()
    return AntreaTree(
        directory=directory,
        module_path=parse_module_path(go_mod),
        version_file=parse_version_file(await directory.file("VERSION").contents()),
        versions=tree_versions(await _pin_files(directory, go_mod), pins()),
        has_git=".git" in root,
    )


async def load_source(tree: AntreaTree, git_image: str, *, released: bool = False) -> AntreaSource:
    """The tree with its version: VERSION, and the commit when it is a git checkout."""
    directory = tree.directory
    sha, dirty, epoch = ("", False, 0)
    if tree.has_git:
        sha, dirty, epoch = await _git_state(directory, git_image)
        # The version now carries the commit: builds and tests need the tree only, so a
        # new commit that changes no file is served from cache.
        directory = directory.without_directory(".git")
    version = AntreaVersion(tree.version_file, sha, dirty, released, epoch)
    return AntreaSource(directory, tree.module_path, version, tree.versions)
