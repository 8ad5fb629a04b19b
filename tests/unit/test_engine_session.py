"""Finding the Dagger sessions antrea-ci started, and how they start, without an engine."""

from __future__ import annotations

import os

import pytest

from ci.engine.session import SILENT_VARIABLE, _silent_unless, is_session_command, parent_of


def test_the_parent_pid_is_read_after_the_name_even_with_spaces_and_parentheses() -> None:
    assert parent_of("4242 (dagger) S 4100 4242 4100 0 -1 4194560") == 4100
    assert parent_of("77 (a (weird) name) R 12 77 12 0 -1") == 12


def test_the_sdks_session_command_is_recognised_whatever_the_cli_path() -> None:
    official = "/var/cache/antrea-ci/dagger-cli-v0.21.8-9206681cf788/dagger"
    downloaded = "/root/.cache/dagger/dagger-0.21.8"
    for cli in (official, downloaded, "dagger"):
        assert is_session_command([cli, "session", "--label", "dagger.io/sdk.name:python"])


def test_other_commands_are_left_alone() -> None:
    assert not is_session_command(["/usr/bin/dagger", "call", "build"])
    assert not is_session_command(["/usr/bin/python3", "session"])
    assert not is_session_command(["dagger"])
    assert not is_session_command([""])


def test_a_session_nobody_reads_starts_silent_and_the_environment_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SILENT_VARIABLE, raising=False)
    with _silent_unless(read=False):
        assert os.environ[SILENT_VARIABLE] == "1"
    assert SILENT_VARIABLE not in os.environ
    with _silent_unless(read=True):
        assert SILENT_VARIABLE not in os.environ


def test_a_users_own_dagger_silent_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SILENT_VARIABLE, "0")
    with _silent_unless(read=False):
        assert os.environ[SILENT_VARIABLE] == "0"
    assert os.environ[SILENT_VARIABLE] == "0"
