"""Release tags do not move by accident (pure, no engine).

A tag like v2.7.0 names a release: once a registry holds it, pushing other content under
it is refused unless the user says --overwrite. Pushing the very same content again is a
no-op that says so. Other tags (latest, per-arch working tags) move freely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_RELEASE_TAG = re.compile(r"v[0-9].*")


def is_release_tag(tag: str) -> bool:
    """Whether the tag names a release (v followed by a digit: v2.7.0, v2.7.0-rc.1)."""
    return bool(_RELEASE_TAG.fullmatch(tag))


@dataclass(frozen=True)
class TagUpdate:
    """One tag this run would set: the digest it would point to and the one it holds."""

    reference: str
    tag: str
    digest: str
    current: str | None

    @property
    def unchanged(self) -> bool:
        return self.current == self.digest

    @property
    def moves_release(self) -> bool:
        return is_release_tag(self.tag) and self.current is not None and not self.unchanged


class TagMoveRefused(RuntimeError):
    """Release tags that already hold other content; the message names each."""


def check_updates(updates: Sequence[TagUpdate], overwrite: bool) -> list[TagUpdate]:
    """The updates to push (those that change something); TagMoveRefused naming every
    release tag that would move, unless overwrite."""
    moving = [update for update in updates if update.moves_release]
    if moving and not overwrite:
        raise TagMoveRefused(
            "release tags already hold other content, nothing was pushed: "
            + "; ".join(
                f"{update.reference} is {update.current}, this run made {update.digest}"
                for update in moving
            )
            + " (pass --overwrite to move them)"
        )
    return [update for update in updates if not update.unchanged]


def unchanged_lines(updates: Sequence[TagUpdate]) -> list[str]:
    """One line per tag that already held what this run pushes."""
    return [
        f"{update.reference} already is {update.digest}: unchanged, not pushed again"
        for update in updates
        if update.unchanged
    ]
