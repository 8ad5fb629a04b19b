"""Bytes that read as Go binaries: a build information header laid out as Go 1.18+ writes it."""

from __future__ import annotations

from ci.core.go_buildinfo import MAGIC, SENTINEL


def uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def binary(go: str, modinfo: str, at: int = 64, flags: int = 2) -> bytes:
    """Bytes holding a build information header at offset at, as Go 1.18+ writes it."""
    wrapped = "S" * SENTINEL + modinfo + "E" * SENTINEL
    header = MAGIC + bytes([8, flags]) + bytes(16)
    strings = b"".join(uvarint(len(s.encode())) + s.encode() for s in (go, wrapped))
    return b"\x7fELF" + bytes(at - 4) + header + strings + bytes(64)
