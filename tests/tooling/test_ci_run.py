"""CI runs the tests as the README tells users to."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_test_commands() -> list[str]:
    """The pytest lines of the README's "Running the tests" block."""
    section = (ROOT / "README.md").read_text().split("## Running the tests", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("python -m pytest")]


def test_ci_runs_the_readme_test_commands_in_their_order() -> None:
    commands = readme_test_commands()
    assert len(commands) == 2
    lines = (ROOT / ".ci/run").read_text().splitlines()
    assert [line for line in lines if line.startswith("python -m pytest")] == commands


def test_every_test_runs_in_one_of_the_two_commands() -> None:
    first, rest = readme_test_commands()
    assert '-m "restarts_engine and not online"' in first
    assert '-m "not restarts_engine and not online"' in rest
