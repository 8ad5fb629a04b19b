"""Two images compared file by file and config field by config field (pure, no engine).

An image is read from a tarball, either an OCI layout (what antrea-ci exports) or Docker's
`docker save` archive (what upstream's route leaves in Docker), its layers applied in order
with their whiteouts. Files are compared by kind, mode, owner and content (sha256), never by
time. A difference is left out of the verdict only when an entry of an allow-list, with its
reason, matches it.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import re
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ci.core.go_buildinfo import GoBuildInfo, read_build_info
from ci.core.oci_tarball import blob, member
from ci.core.summary import table

# The image config fields compared (OCI names).
CONFIG_FIELDS = ("Entrypoint", "Cmd", "Env", "User", "Labels", "WorkingDir")
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
DPKG_STATUS = "var/lib/dpkg/status"
# The Go binaries whose build information a parity report shows, by the name it gives them.
REPORTED_BINARIES = {
    "antrea-agent": "usr/local/bin/antrea-agent",
    "antrea-controller": "usr/local/bin/antrea-controller",
    "flow-aggregator": "flow-aggregator",
    "antctl": "usr/local/bin/antctl",
    "CNI plugins (host-local)": "opt/cni/bin/host-local",
    "iptables-wrapper": "usr/sbin/iptables-wrapper",
}
# The files a comparison reads whole: dpkg's status and the reported binaries.
READ_WHOLE = (DPKG_STATUS, *REPORTED_BINARIES.values())


@dataclass(frozen=True)
class FileEntry:
    """One path of an image's file system, as compared."""

    kind: str  # file, dir, symlink, hardlink, device, fifo
    mode: int
    owner: str  # uid:gid
    content: str  # sha256 of a file, the target of a link, "" otherwise

    def describe(self) -> str:
        """The entry in a report's cell."""
        what = {"file": self.content[:12], "symlink": f"-> {self.content}"}.get(self.kind, "")
        return f"{self.kind} {self.mode:o} {self.owner} {what}".strip()


@dataclass
class ImageContent:
    """An image's merged file system and the config fields compared."""

    files: dict[str, FileEntry] = field(default_factory=dict)
    config: dict[str, object] = field(default_factory=dict)
    kept: dict[str, bytes] = field(default_factory=dict)  # files read whole (dpkg status)

    def packages(self) -> dict[str, str]:
        """The installed Debian packages and their versions (from dpkg's status file)."""
        return dpkg_versions(self.kept.get(DPKG_STATUS, b"").decode(errors="replace"))

    @functools.cached_property
    def go_builds(self) -> dict[str, GoBuildInfo | None]:
        """The build information of each reported binary the image holds (None for a file
        that is no Go binary), read once: a binary is scanned whole."""
        return {
            path: read_build_info(self.kept[path])
            for path in REPORTED_BINARIES.values()
            if path in self.kept
        }


def dpkg_versions(status: str) -> dict[str, str]:
    """Package -> version of the installed packages of a dpkg status file."""
    versions = {}
    for stanza in status.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.MULTILINE))
        # "install ok installed", or "hold ok installed" for a held package.
        if fields.get("Status", "").endswith(" ok installed") and "Package" in fields:
            versions[fields["Package"]] = fields.get("Version", "")
    return versions


def read_image(tarball: Path, keep: Iterable[str] = READ_WHOLE) -> ImageContent:
    """The one image of an OCI-layout or `docker save` tarball, layers merged."""
    wanted = set(keep)
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
        if "index.json" in names:
            config, layers = _oci_image(archive)
        elif "manifest.json" in names:
            config, layers = _docker_image(archive)
        else:
            raise ValueError(f"{tarball}: neither an OCI layout nor a docker save archive")
        content = ImageContent(config=_compared_config(config))
        for layer in layers:
            with tarfile.open(fileobj=member(archive, layer), mode="r:*") as diff:
                _apply(content, diff, wanted)
    return content


def _oci_image(archive: tarfile.TarFile) -> tuple[dict[str, object], list[str]]:
    index = json.load(member(archive, "index.json"))
    manifests = index["manifests"]
    if len(manifests) != 1:
        raise ValueError(f"{archive.name!r} holds {len(manifests)} images, not one")
    manifest = json.load(member(archive, blob(manifests[0]["digest"])))
    if "manifests" in manifest:  # an index of one image
        manifest = json.load(member(archive, blob(manifest["manifests"][0]["digest"])))
    config = json.load(member(archive, blob(manifest["config"]["digest"])))
    return config, [blob(layer["digest"]) for layer in manifest["layers"]]


def _docker_image(archive: tarfile.TarFile) -> tuple[dict[str, object], list[str]]:
    manifest = json.load(member(archive, "manifest.json"))
    if len(manifest) != 1:
        raise ValueError(f"{archive.name!r} holds {len(manifest)} images, not one")
    config = json.load(member(archive, manifest[0]["Config"]))
    return config, list(manifest[0]["Layers"])


def _compared_config(config: dict[str, object]) -> dict[str, object]:
    inner = config.get("config")
    fields = inner if isinstance(inner, dict) else {}
    compared: dict[str, object] = {name: fields.get(name) for name in CONFIG_FIELDS}
    env = compared["Env"]
    if isinstance(env, list):  # compared as a mapping: the order of ENV lines is no difference
        compared["Env"] = dict(str(item).partition("=")[::2] for item in env)
    return compared


def _apply(content: ImageContent, diff: tarfile.TarFile, keep: set[str]) -> None:
    """One layer over the ones before it: its whiteouts first, then its entries."""
    members = diff.getmembers()
    files = content.files
    for entry in members:
        path = _normal(entry.name)
        parent, _, base = path.rpartition("/")
        if base == OPAQUE:
            prefix = f"{parent}/" if parent else ""
            for gone in [p for p in files if p.startswith(prefix) and p != parent]:
                del files[gone]
        elif base.startswith(WHITEOUT):
            gone = f"{parent}/{base[len(WHITEOUT) :]}" if parent else base[len(WHITEOUT) :]
            for below in [p for p in files if p == gone or p.startswith(gone + "/")]:
                del files[below]
    for entry in members:
        path = _normal(entry.name)
        if not path or path.rpartition("/")[2].startswith(WHITEOUT):
            continue
        files[path] = _entry(diff, entry, files)
        if path in keep and entry.isfile():
            content.kept[path] = member(diff, entry.name).read()


def _normal(name: str) -> str:
    """A member's path without ./ and slashes around it; "" for the root itself."""
    path = name.removeprefix("./").strip("/")
    return "" if path == "." else path


def _entry(diff: tarfile.TarFile, item: tarfile.TarInfo, files: dict[str, FileEntry]) -> FileEntry:
    owner = f"{item.uid}:{item.gid}"
    mode = item.mode & 0o7777
    if item.isfile():
        digest = hashlib.sha256()
        stream = member(diff, item.name)
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
        return FileEntry("file", mode, owner, digest.hexdigest())
    if item.islnk():  # the same content as its target, as a reader of the image sees it
        target = files.get(_normal(item.linkname))
        return FileEntry("file", mode, owner, target.content if target else "")
    if item.issym():
        return FileEntry("symlink", mode, owner, item.linkname)
    if item.isdir():
        return FileEntry("dir", mode, owner, "")
    kind = "fifo" if item.isfifo() else "device"
    return FileEntry(kind, mode, owner, f"{item.devmajor}:{item.devminor}")


@dataclass(frozen=True)
class Allowed:
    """A difference that is explained: what (only-ours, only-theirs, differs, package,
    version, config), a glob over paths (a package's or config field's name), and why."""

    what: str
    pattern: str
    reason: str

    def matches(self, difference: Difference) -> bool:
        return difference.what == self.what and fnmatch.fnmatchcase(difference.path, self.pattern)


@dataclass(frozen=True)
class Difference:
    """One path or config field where the two images differ."""

    # only-ours, only-theirs, differs, package (installed, by version), version (a Go
    # binary's main module and version, from its build information), config
    what: str
    path: str
    ours: str
    theirs: str


@dataclass
class Comparison:
    """The differences of two images, each with the allow-list entry that explains it."""

    explained: list[tuple[Difference, Allowed]] = field(default_factory=list)
    unexplained: list[Difference] = field(default_factory=list)

    @property
    def same(self) -> bool:
        """Whether every difference is explained."""
        return not self.unexplained


def differences(ours: ImageContent, theirs: ImageContent) -> list[Difference]:
    """Every path and config field where the images differ, sorted by path."""
    found = []
    for path in sorted(ours.files.keys() | theirs.files.keys()):
        mine, other = ours.files.get(path), theirs.files.get(path)
        if other is None and mine is not None:
            found.append(Difference("only-ours", path, mine.describe(), ""))
        elif mine is None and other is not None:
            found.append(Difference("only-theirs", path, "", other.describe()))
        elif mine is not None and other is not None and mine != other:
            found.append(Difference("differs", path, mine.describe(), other.describe()))
    mine_packages, other_packages = ours.packages(), theirs.packages()
    for package in sorted(mine_packages.keys() | other_packages.keys()):
        mine_version, other_version = mine_packages.get(package), other_packages.get(package)
        if mine_version != other_version:
            found.append(Difference("package", package, mine_version or "", other_version or ""))
    for path in REPORTED_BINARIES.values():
        mine_build, other_build = _module_version(ours, path), _module_version(theirs, path)
        if mine_build is not None and other_build is not None and mine_build != other_build:
            found.append(Difference("version", path, mine_build, other_build))
    for name in CONFIG_FIELDS:
        mine_value, other_value = ours.config.get(name), theirs.config.get(name)
        if isinstance(mine_value, dict) and isinstance(other_value, dict):
            for key in sorted(mine_value.keys() | other_value.keys()):
                if mine_value.get(key) != other_value.get(key):
                    found.append(
                        Difference(
                            "config",
                            f"{name}.{key}",
                            _shown(mine_value.get(key)),
                            _shown(other_value.get(key)),
                        )
                    )
        elif (mine_value or None) != (other_value or None):
            found.append(Difference("config", name, _shown(mine_value), _shown(other_value)))
    return found


def _module_version(image: ImageContent, path: str) -> str | None:
    """The main module and version a Go binary of the image records; None without one."""
    info = image.go_builds.get(path)
    return f"{info.module} {info.version}" if info else None


def _shown(value: object) -> str:
    return "" if value is None else json.dumps(value)


def compare(ours: ImageContent, theirs: ImageContent, allowed: Sequence[Allowed]) -> Comparison:
    """The images' differences, each explained by the first allow-list entry matching it."""
    comparison = Comparison()
    for difference in differences(ours, theirs):
        reason = next((entry for entry in allowed if entry.matches(difference)), None)
        if reason is None:
            comparison.unexplained.append(difference)
        else:
            comparison.explained.append((difference, reason))
    return comparison


# The packages whose versions a parity report shows for both images.
REPORTED_PACKAGES = ("openvswitch-switch", "openvswitch-common", "iptables", "nftables", "suricata")
SHOWN_PATHS = 20  # unexplained differences listed one per row; the rest counted


def report(
    title: str,
    comparison: Comparison,
    versions: dict[str, tuple[str, str]],
) -> str:
    """A Markdown report: the versions on each side, the unexplained differences path by
    path, the explained ones counted per reason."""
    lines = [f"### {title}", ""]
    verdict = (
        "no unexplained difference"
        if comparison.same
        else (f"**{len(comparison.unexplained)} unexplained differences**")
    )
    lines += [f"{len(comparison.explained)} explained differences, {verdict}.", ""]
    if versions:
        lines += [
            table(["", "antrea-ci", "upstream"], ([n, *pair] for n, pair in versions.items())),
            "",
        ]
    if comparison.unexplained:
        rows = [[d.what, f"`{d.path}`", d.ours, d.theirs] for d in comparison.unexplained]
        shown = rows[:SHOWN_PATHS]
        lines += [table(["difference", "path", "antrea-ci", "upstream"], shown), ""]
        if len(rows) > SHOWN_PATHS:
            lines += [f"and {len(rows) - SHOWN_PATHS} more.", ""]
    counts: dict[Allowed, int] = {}
    for _, entry in comparison.explained:
        counts[entry] = counts.get(entry, 0) + 1
    if counts:
        rows = [[e.what, f"`{e.pattern}`", str(n), e.reason] for e, n in counts.items()]
        lines += [table(["explained", "paths", "count", "why"], rows, right=[2]), ""]
    return "\n".join(lines)


def package_versions(ours: ImageContent, theirs: ImageContent) -> dict[str, tuple[str, str]]:
    """The reported packages' versions on each side ("-" where one is not installed), then
    the reported Go binaries' build information (toolchain, main module, version)."""
    mine, other = ours.packages(), theirs.packages()
    versions = {
        name: (mine.get(name, "-"), other.get(name, "-"))
        for name in REPORTED_PACKAGES
        if name in mine or name in other
    }
    for name, path in REPORTED_BINARIES.items():
        if path in ours.go_builds or path in theirs.go_builds:
            versions[name] = (_go_build(ours, path), _go_build(theirs, path))
    return versions


def _go_build(image: ImageContent, path: str) -> str:
    """A report cell: the binary's build, "-" where the image lacks it."""
    if path not in image.go_builds:
        return "-"
    info = image.go_builds[path]
    return info.describe() if info else "not a Go binary"
