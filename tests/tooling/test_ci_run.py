"""CI runs the tests as the README tells users to, both phases whatever the first gave."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHASES = ROOT / ".ci/phases"


def readme_test_commands() -> list[str]:
    """The pytest lines of the README's "Running the tests" block."""
    section = (ROOT / "README.md").read_text().split("## Running the tests", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("python -m pytest")]


def test_ci_runs_the_readme_test_commands_in_their_order() -> None:
    commands = readme_test_commands()
    assert len(commands) == 2
    lines = PHASES.read_text().splitlines()
    assert [line for line in lines if line.startswith("python -m pytest")] == commands
    assert ".ci/phases || tests=$?" in (ROOT / ".ci/run").read_text()


def test_every_test_runs_in_one_of_the_two_commands() -> None:
    first, rest = readme_test_commands()
    assert '-m "restarts_engine and not online"' in first
    assert '-m "not restarts_engine and not online"' in rest


def run_phases(tmp_path: Path, failing: str) -> subprocess.CompletedProcess[str]:
    """.ci/phases with a stand-in `python` that fails the phase named (one, two or none)
    and logs each call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "$*" >>"$PHASES_LOG"\n'
        'case "$*" in *"-n 3"*) phase=two ;; *) phase=one ;; esac\n'
        '[ "$phase" != "$FAILING" ]\n'
    )
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PHASES_LOG": str(tmp_path / "calls"),
        "FAILING": failing,
    }
    return subprocess.run([str(PHASES)], env=env, capture_output=True, text=True, check=False)


def test_a_failed_first_phase_does_not_hide_the_second(tmp_path: Path) -> None:
    ran = run_phases(tmp_path, failing="one")
    assert ran.returncode == 1
    assert len((tmp_path / "calls").read_text().splitlines()) == 2
    assert "== phase one, the tests that restart or kill the engine: exit 1" in ran.stdout
    assert "== phase two, the other tests in three workers: exit 0" in ran.stdout


def test_a_failed_second_phase_fails_the_run(tmp_path: Path) -> None:
    ran = run_phases(tmp_path, failing="two")
    assert ran.returncode == 1
    assert "phase one, the tests that restart or kill the engine: exit 0" in ran.stdout
    assert "phase two, the other tests in three workers: exit 1" in ran.stdout


def test_both_phases_passing_pass(tmp_path: Path) -> None:
    assert run_phases(tmp_path, failing="none").returncode == 0
