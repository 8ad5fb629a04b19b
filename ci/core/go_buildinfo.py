"""The build information Go links into every binary (pure): the toolchain, the main package
and module, the modules compiled in and the build settings, as `go version -m` prints them.

Go 1.18 and later write a 32-byte header, 16-byte aligned, that starts with MAGIC, then two
length-prefixed strings: the Go version and the module information.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAGIC = b"\xff Go buildinf:"
HEADER = 32
INLINE_STRINGS = 0x2  # the header's flag for the strings that follow it
SENTINEL = 16  # bytes around the module information


@dataclass(frozen=True)
class GoBuildInfo:
    """What one Go binary says of its build."""

    go: str
    path: str = ""  # the main package
    module: str = ""  # the main module
    version: str = ""  # the main module's version, "(devel)" when built from a tree
    deps: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One report cell: toolchain, main module and version, commit when Go stamped one."""
        commit = self.settings.get("vcs.revision", "")[:12]
        dirty = "+dirty" if self.settings.get("vcs.modified") == "true" else ""
        parts = [self.go, self.module, self.version, f"{commit}{dirty}" if commit else ""]
        return " ".join(part for part in parts if part)


def _uvarint(data: bytes, start: int) -> tuple[int, int]:
    """The unsigned varint at start, and the offset after it."""
    value = shift = 0
    for offset in range(start, min(start + 10, len(data))):
        byte = data[offset]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset + 1
        shift += 7
    raise ValueError("truncated varint")


def _string(data: bytes, start: int) -> tuple[str, int]:
    length, start = _uvarint(data, start)
    end = start + length
    if end > len(data):
        raise ValueError("truncated string")
    return data[start:end].decode(errors="replace"), end


def parse_modinfo(go: str, text: str) -> GoBuildInfo:
    """The build information of a binary linked by go, from its module information's lines
    (path, mod, dep, build)."""
    path = module = version = ""
    deps: dict[str, str] = {}
    settings: dict[str, str] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        columns = rest.split("\t")
        if kind == "path":
            path = rest
        elif kind == "mod" and len(columns) >= 2:
            module, version = columns[0], columns[1]
        elif kind == "dep" and len(columns) >= 2:
            deps[columns[0]] = columns[1]
        elif kind == "build":
            key, _, value = rest.partition("=")
            settings[key] = value.strip('"')
    return GoBuildInfo(go, path, module, version, deps, settings)


def read_build_info(binary: bytes) -> GoBuildInfo | None:
    """The binary's build information; None when it is not a Go 1.18+ binary."""
    start = binary.find(MAGIC)
    while start != -1:
        info = _at(binary, start)
        if info is not None:
            return info
        start = binary.find(MAGIC, start + 1)
    return None


def _at(binary: bytes, start: int) -> GoBuildInfo | None:
    """The build information whose header is at start, if that is a header."""
    if start % 16 or len(binary) < start + HEADER or not binary[start + 15] & INLINE_STRINGS:
        return None
    try:
        go, offset = _string(binary, start + HEADER)
        modinfo, _ = _string(binary, offset)
    except ValueError:
        return None
    if not go.startswith("go"):
        return None
    if len(modinfo) > 2 * SENTINEL and modinfo[-SENTINEL - 1] == "\n":
        modinfo = modinfo[SENTINEL:-SENTINEL]
    return parse_modinfo(go, modinfo)
