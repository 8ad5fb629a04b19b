"""Whether an exported OCI tarball still holds the image a build made (pure, no engine).

Exporting an unchanged image again costs as much as the first time (seconds per image).
A stamp beside each tarball records the image's fingerprint (ci.core.fingerprints) and the
tarball's size. When a rebuild has the same fingerprint and the tarball is still there, as
exported, the export is skipped.
"""

from __future__ import annotations

from pathlib import Path

STAMP_SUFFIX = ".stamp"


def stamp_path(tarball: Path) -> Path:
    return tarball.with_name(tarball.name + STAMP_SUFFIX)


def _recorded(tarball: Path, fingerprint: str) -> str:
    return f"{fingerprint} {tarball.stat().st_size}\n"


def unchanged(tarball: Path, fingerprint: str) -> bool:
    """Whether the tarball exists, as exported from an image of this fingerprint."""
    stamp = stamp_path(tarball)
    return (
        tarball.is_file()
        and stamp.is_file()
        and stamp.read_text() == _recorded(tarball, fingerprint)
    )


def record(tarball: Path, fingerprint: str) -> None:
    """Note, after an export, what the tarball holds (and its size, to notice a change)."""
    stamp_path(tarball).write_text(_recorded(tarball, fingerprint))


def forget(tarball: Path) -> None:
    """Before an export: the tarball is about to change, its stamp no longer holds."""
    stamp_path(tarball).unlink(missing_ok=True)
