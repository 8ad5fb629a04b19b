"""Where the pinned versions and image assets of build/ live (pure, no engine)."""

from __future__ import annotations

from pathlib import Path

BUILD_DIR = Path(__file__).resolve().parent.parent / "build"
