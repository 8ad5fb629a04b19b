"""Pinned versions (build/versions.env) and Antrea's version strings (pure, no engine)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ci.assets import BUILD_DIR


class SourceError(ValueError):
    """A source directory that is not an Antrea tree, or whose metadata is unusable."""


def parse_env_file(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and # comments are ignored."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ValueError(f"line {number}: expected KEY=VALUE, got {raw!r}")
        values[key] = value
    return values


@dataclass(frozen=True)
class Pins:
    """The versions build/versions.env pins."""

    dagger: str
    go: str
    antrea: str
    antrea_repository: str
    ovs: str
    ovs_tarball_url: str
    cni_plugins: str
    cni_plugin_names: tuple[str, ...]
    distro_image: str
    go_image: str
    iptables_wrapper_repository: str
    iptables_wrapper_commit: str


@cache
def pins() -> Pins:
    values = parse_env_file((BUILD_DIR / "versions.env").read_text())
    return Pins(
        dagger=values["DAGGER_VERSION"],
        go=values["GO_VERSION"],
        antrea=values["ANTREA_VERSION"],
        antrea_repository=values["ANTREA_REPOSITORY"],
        ovs=values["OVS_VERSION"],
        ovs_tarball_url=values["OVS_TARBALL_URL"],
        cni_plugins=values["CNI_PLUGINS_VERSION"],
        cni_plugin_names=tuple(values["CNI_PLUGINS"].split(",")),
        distro_image=values["DISTRO_IMAGE"],
        go_image=values["GO_IMAGE"],
        iptables_wrapper_repository=values["IPTABLES_WRAPPER_REPOSITORY"],
        iptables_wrapper_commit=values["IPTABLES_WRAPPER_COMMIT"],
    )


@dataclass(frozen=True)
class AntreaVersion:
    """What identifies a build of an Antrea tree: VERSION, git SHA and tree state."""

    version: str
    git_sha: str
    dirty: bool
    released: bool = False

    @property
    def tree_state(self) -> str:
        return "dirty" if self.dirty else "clean"

    @property
    def full(self) -> str:
        """The image and binary version: VERSION-sha[.dirty], or VERSION for a release."""
        if self.released:
            return self.version
        full = f"{self.version}-{self.git_sha}" if self.git_sha else self.version
        return f"{full}.dirty" if self.dirty else full

    def ldflags(self, module_path: str) -> str:
        """The -ldflags upstream passes: stripped binaries with the version variables set."""
        package = f"{module_path}/pkg/version"
        status = "released" if self.released else "unreleased"
        return " ".join(
            [
                "-s",
                "-w",
                f"-X {package}.Version={self.version}",
                f"-X {package}.GitSHA={self.git_sha}",
                f"-X {package}.GitTreeState={self.tree_state}",
                f"-X {package}.ReleaseStatus={status}",
            ]
        )


def parse_version_file(text: str) -> str:
    """The version in an Antrea VERSION file (first non-empty line, like v2.7.0-dev)."""
    for line in text.splitlines():
        if line.strip():
            version = line.strip()
            if not re.fullmatch(r"v\d+\.\d+\.\d+[0-9A-Za-z.+-]*", version):
                raise SourceError(f"VERSION holds {version!r}, not a version like v2.7.0")
            return version
    raise SourceError("VERSION is empty")


def parse_module_path(go_mod: str) -> str:
    """The module path declared by a go.mod file."""
    match = re.search(r"^module\s+(\S+)", go_mod, re.MULTILINE)
    if not match:
        raise SourceError("go.mod declares no module")
    return match.group(1)
