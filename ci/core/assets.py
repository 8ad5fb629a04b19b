"""Where the pinned versions and image assets of build/ live (pure, no engine)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
# A checkout (or editable install) reads the repository's build/; a wheel carries a copy
# in the package (see tool.hatch force-include in pyproject.toml).
BUILD_DIR = next(
    (
        path
        for path in (_PACKAGE.parent / "build", _PACKAGE / "build")
        if (path / "versions.env").exists()
    ),
    _PACKAGE.parent / "build",
)
