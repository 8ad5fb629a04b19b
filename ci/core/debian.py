"""Reading Debian packaging: Build-Depends for a target, DPDK left out (pure, no engine)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Build profiles active when building OVS the way upstream Antrea does.
OVS_BUILD_PROFILES = frozenset({"nocheck", "nodpdk"})
_RESTRICTION = re.compile(r"\s*(\[[^\]]*\]|<[^>]*>)")


def _source_field(control: str, name: str) -> str:
    """A field of the source stanza (the first paragraph), continuation lines joined."""
    source_stanza = control.strip().split("\n\n", 1)[0]
    value: list[str] = []
    collecting = False
    for line in source_stanza.splitlines():
        if collecting and line[:1] in (" ", "\t"):
            value.append(line.strip())
            continue
        collecting = line.lower().startswith(name.lower() + ":")
        if collecting:
            value.append(line.split(":", 1)[1].strip())
    return " ".join(value)


def _arch_allows(restriction: str, debian_arch: str) -> bool:
    arches = restriction.strip("[]").split()
    negated = [a[1:] for a in arches if a.startswith("!")]
    if negated:
        return debian_arch not in negated
    return debian_arch in arches


def _profiles_allow(groups: list[str], active: frozenset[str]) -> bool:
    """<a !b> <c>: the relation applies when any group has all its terms true."""
    if not groups:
        return True
    for group in groups:
        terms = group.strip("<>").split()
        if all((t[1:] not in active) if t.startswith("!") else (t in active) for t in terms):
            return True
    return False


def build_depends(
    control: str,
    debian_arch: str,
    *,
    profiles: frozenset[str] = OVS_BUILD_PROFILES,
    drop: Iterable[str] = ("dpdk",),
) -> list[str]:
    """The build dependencies of a debian/control for one architecture and set of profiles.

    Relations restricted to other architectures or inactive profiles are left out, and so
    are those naming a dropped word (upstream strips DPDK from the OVS packaging). Each
    returned relation keeps its alternatives and version constraint, for `apt-get satisfy`.
    """
    dropped = tuple(drop)
    field = ", ".join(
        part
        for part in (
            _source_field(control, "Build-Depends"),
            _source_field(control, "Build-Depends-Arch"),
        )
        if part
    )
    relations: list[str] = []
    for relation in filter(None, (r.strip() for r in field.split(","))):
        alternatives: list[str] = []
        for alternative in relation.split("|"):
            restrictions = _RESTRICTION.findall(alternative)
            package = _RESTRICTION.sub("", alternative).strip()
            arch = [r.strip() for r in restrictions if r.strip().startswith("[")]
            groups = [r.strip() for r in restrictions if r.strip().startswith("<")]
            if arch and not _arch_allows(arch[0], debian_arch):
                continue
            if not _profiles_allow(groups, profiles):
                continue
            if any(word in package.split()[0] for word in dropped):
                continue
            alternatives.append(package)
        if alternatives:
            relations.append(" | ".join(alternatives))
    return relations


# OVS's debian/control.in marks the DPDK packaging with this prefix; its Makefile (and
# upstream Antrea's OVS Dockerfile) writes debian/control without those lines.
DPDK_MARK = "# DPDK_NETDEV"


def control_from_template(control_in: str) -> str:
    """debian/control from an OVS release's debian/control.in, without DPDK."""
    kept = (line for line in control_in.splitlines(keepends=True) if not line.startswith(DPDK_MARK))
    return "".join(kept)


@dataclass(frozen=True)
class OsRelease:
    """What an /etc/os-release says of its distribution: ID (debian, ubuntu, ...) and
    VERSION_CODENAME (bookworm, noble, ...), empty when absent."""

    id: str
    codename: str


def parse_os_release(os_release: str) -> OsRelease:
    """The ID and VERSION_CODENAME of an /etc/os-release file."""
    fields = {}
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip().strip("\"'")
    return OsRelease(fields.get("ID", ""), fields.get("VERSION_CODENAME", ""))
