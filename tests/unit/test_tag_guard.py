"""Release tags do not move by accident (no engine)."""

from __future__ import annotations

import pytest

from ci.release.tag_guard import (
    TagMoveRefused,
    TagUpdate,
    check_updates,
    is_release_tag,
    unchanged_lines,
)

OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def update(tag: str, current: str | None, digest: str = NEW) -> TagUpdate:
    return TagUpdate(f"ghcr.io/antrea-io/antrea-agent-ubuntu:{tag}", tag, digest, current)


@pytest.mark.parametrize(
    ("tag", "release"),
    [
        ("v2.7.0", True),
        ("v2.7.0-rc.1", True),
        ("v2", True),
        ("latest", False),
        ("main", False),
        ("version", False),
        ("sha-0123456789abcdef", False),
    ],
)
def test_release_tags_are_v_and_a_digit(tag: str, release: bool) -> None:
    assert is_release_tag(tag) is release


def test_a_new_release_tag_and_moving_latest_are_pushed() -> None:
    updates = [update("v2.7.0", None), update("latest", OLD)]
    assert check_updates(updates, overwrite=False) == updates


def test_moving_a_release_tag_is_refused_naming_both_digests() -> None:
    updates = [update("v2.7.0", OLD), update("latest", OLD)]
    with pytest.raises(TagMoveRefused) as refused:
        check_updates(updates, overwrite=False)
    message = str(refused.value)
    assert "antrea-agent-ubuntu:v2.7.0 is " + OLD in message
    assert "this run made " + NEW in message
    assert "--overwrite" in message and "nothing was pushed" in message
    assert "latest" not in message


def test_overwrite_moves_release_tags() -> None:
    updates = [update("v2.7.0", OLD)]
    assert check_updates(updates, overwrite=True) == updates


def test_identical_content_is_not_pushed_and_said() -> None:
    updates = [update("v2.7.0", NEW), update("latest", OLD)]
    assert check_updates(updates, overwrite=False) == [updates[1]]
    assert unchanged_lines(updates) == [
        f"ghcr.io/antrea-io/antrea-agent-ubuntu:v2.7.0 already is {NEW}: unchanged, "
        "not pushed again"
    ]
