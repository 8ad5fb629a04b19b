"""Pinned versions (build/versions.env) and Antrea's version strings (pure, no engine)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ci.core.assets import BUILD_DIR
from ci.core.debian import OsRelease


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
    ovs_releases_url: str
    cni_plugins: str
    cni_plugin_names: tuple[str, ...]
    distro_image: str
    go_image: str
    iptables_wrapper_repository: str
    iptables_wrapper_commit: str
    suricata: str


@cache
def pins() -> Pins:
    values = parse_env_file((BUILD_DIR / "versions.env").read_text())
    return Pins(
        dagger=values["DAGGER_VERSION"],
        go=values["GO_VERSION"],
        antrea=values["ANTREA_VERSION"],
        antrea_repository=values["ANTREA_REPOSITORY"],
        ovs=values["OVS_VERSION"],
        ovs_releases_url=values["OVS_RELEASES_URL"],
        cni_plugins=values["CNI_PLUGINS_VERSION"],
        cni_plugin_names=tuple(values["CNI_PLUGINS"].split(",")),
        distro_image=values["DISTRO_IMAGE"],
        go_image=values["GO_IMAGE"],
        iptables_wrapper_repository=values["IPTABLES_WRAPPER_REPOSITORY"],
        iptables_wrapper_commit=values["IPTABLES_WRAPPER_COMMIT"],
        suricata=values["SURICATA_VERSION"],
    )


@dataclass(frozen=True)
class AntreaVersion:
    """What identifies a build of an Antrea tree: VERSION, git SHA and tree state."""

    version: str
    git_sha: str
    dirty: bool
    released: bool = False
    # The commit's time (seconds since 1970), 0 without git: SOURCE_DATE_EPOCH, the time
    # every file a release's layers were made with and its config say.
    source_date_epoch: int = 0

    @property
    def tree_state(self) -> str:
        """dirty or clean; empty without git, as upstream's versioning.mk leaves it."""
        if not self.git_sha:
            return ""
        return "dirty" if self.dirty else "clean"

    @property
    def full(self) -> str:
        """The image and binary version, as Antrea's pkg/version prints it: VERSION-sha
        [.dirty], VERSION-unknown for a tree without git (a release tarball), VERSION for a
        release."""
        if self.released:
            return self.version
        if not self.git_sha:
            return f"{self.version}-unknown"
        full = f"{self.version}-{self.git_sha}"
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


# Where an Antrea tree declares the versions it builds with, as upstream's scripts read them.
TREE_PIN_FILES = {
    "ovs": "build/images/deps/ovs-version",
    "cni-plugins": "build/images/deps/cni-binaries-version",
    "go": "build/images/deps/go-version",
    "suricata": "build/images/deps/suricata-version",
}
BASE_DOCKERFILE = "build/images/base/Dockerfile"
IPTABLES_WRAPPER_ARG = "IPTABLES_WRAPPER_SHA"
VERSIONS_ENV = "build/versions.env"


@dataclass(frozen=True)
class Pinned:
    """A version and where it came from: a file of the tree, versions.env or an option."""

    value: str
    origin: str


@dataclass(frozen=True)
class BuildVersions:
    """The versions one build uses, each with its origin."""

    ovs: Pinned
    cni_plugins: Pinned
    go: Pinned
    suricata: Pinned
    iptables_wrapper: Pinned

    def named(self) -> dict[str, Pinned]:
        return {
            "ovs": self.ovs,
            "cni-plugins": self.cni_plugins,
            "go": self.go,
            "suricata": self.suricata,
            "iptables-wrappers": self.iptables_wrapper,
        }

    def lines(self, suricata: str = "") -> list[str]:
        """One line each: `ovs 3.7.1 (build/images/deps/ovs-version)`; suricata replaces
        Suricata's line (to say it was left out)."""
        return [
            suricata if name == "suricata" and suricata else f"{name} {pin.value} ({pin.origin})"
            for name, pin in self.named().items()
        ]

    def ovs_tarball_url(self, releases_url: str) -> str:
        return f"{releases_url.rstrip('/')}/openvswitch-{self.ovs.value}.tar.gz"


def dockerfile_arg(dockerfile: str, name: str) -> str:
    """The default of `ARG name=value` in a Dockerfile, or "" when it sets none."""
    match = re.search(rf"^\s*ARG\s+{name}=(\S+)", dockerfile, re.MULTILINE)
    return match.group(1).strip("\"'") if match else ""


def go_directive(go_mod: str) -> str:
    """The Go version of a go.mod's `go` line, or ""."""
    match = re.search(r"^go\s+(\d+\.\d+(?:\.\d+)?)\s*$", go_mod, re.MULTILINE)
    return match.group(1) if match else ""


def tree_versions(files: dict[str, str], defaults: Pins) -> BuildVersions:
    """The versions a tree declares (files: path -> text of those it has), versions.env else."""

    def declared(path: str, default: str, value: str | None = None) -> Pinned:
        found = (value if value is not None else files.get(path, "")).strip()
        return Pinned(found, path) if found else Pinned(default, VERSIONS_ENV)

    go = declared(TREE_PIN_FILES["go"], "")
    if not go.value:
        go = declared("go.mod", defaults.go, go_directive(files.get("go.mod", "")))
    wrapper = dockerfile_arg(files.get(BASE_DOCKERFILE, ""), IPTABLES_WRAPPER_ARG)
    return BuildVersions(
        ovs=declared(TREE_PIN_FILES["ovs"], defaults.ovs),
        cni_plugins=declared(TREE_PIN_FILES["cni-plugins"], defaults.cni_plugins),
        go=go,
        suricata=declared(TREE_PIN_FILES["suricata"], defaults.suricata),
        iptables_wrapper=declared(BASE_DOCKERFILE, defaults.iptables_wrapper_commit, wrapper),
    )


def ovs_package_version(changelog: str) -> str:
    """The upstream version of a debian/changelog's newest entry (3.7.1 of `(3.7.1-1)`), or ""."""
    match = re.match(r"\s*\S+\s+\(([^)\s]+)\)", changelog)
    if not match:
        return ""
    version = match.group(1).split(":", 1)[-1]
    return version.rsplit("-", 1)[0] if "-" in version else version


@dataclass(frozen=True)
class SuricataChoice:
    """The Suricata version the base image installs ("" for none), the line saying so, and
    where apt takes it from: a PPA (ppa:...) or a Debian suite (bookworm-backports)."""

    version: str
    line: str
    source: str = ""


# Debian releases whose backports carry Suricata 7.0, and for which architectures (read off
# deb.debian.org's bookworm-backports Packages: 1:7.0.10-1~bpo12+1 on 2026-12-05).
SURICATA_BACKPORTS = {"bookworm": frozenset({"amd64", "arm64", "armhf"})}


def choose_suricata(
    wanted: bool, distro: str, os_release: OsRelease, architecture: str, pinned: Pinned
) -> SuricataChoice:
    """Suricata from its versioned Ubuntu PPA on Ubuntu (as upstream's), from backports on a
    Debian release whose backports carry it for the architecture; else left out, saying why."""
    if not wanted:
        return SuricataChoice("", "suricata left out (--suricata=false)")
    origin = f"suricata {pinned.value} ({pinned.origin})"
    if os_release.id == "ubuntu":
        return SuricataChoice(pinned.value, origin, f"ppa:oisf/suricata-{pinned.value}")
    if os_release.id == "debian" and architecture in SURICATA_BACKPORTS.get(
        os_release.codename, ()
    ):
        suite = f"{os_release.codename}-backports"
        return SuricataChoice(pinned.value, f"{origin} from Debian's {suite}", suite)
    if os_release.id == "debian":
        return SuricataChoice(
            "",
            f"suricata left out: {distro} is Debian {os_release.codename or '(no codename)'}, "
            f"whose backports carry no Suricata for {architecture} (Ubuntu's PPA is for Ubuntu)",
        )
    return SuricataChoice(
        "",
        f"suricata left out: {distro} is {os_release.id or 'unknown'}, and Suricata comes from "
        "an Ubuntu PPA or Debian's backports",
    )
