"""CI runs the tests as the README tells users to, every command whatever the ones before gave."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHASES = ROOT / ".ci/phases"


BESIDE = ' >"$beside" 2>&1 &'


def readme_test_commands() -> list[str]:
    """The test commands of the README's "Running the tests" block."""
    section = (ROOT / "README.md").read_text().split("## Running the tests", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("python -m ")]


def test_ci_runs_the_readme_test_commands_in_their_order() -> None:
    commands = readme_test_commands()
    assert len(commands) == 3
    lines = PHASES.read_text().splitlines()
    # The second runs in the background, beside the third, its output kept for after.
    ran = [line.removesuffix(BESIDE) for line in lines if line.startswith("python -m ")]
    assert ran == commands
    assert sum(line.endswith(BESIDE) for line in lines) == 1
    assert ".ci/phases || tests=$?" in (ROOT / ".ci/run").read_text()


def test_every_test_runs_in_one_of_the_three_commands() -> None:
    alone, restarting, rest = readme_test_commands()
    assert '-m "host_binfmt and not online"' in alone
    assert restarting.startswith("python -m tests.support.own_engine python -m pytest ")
    assert '-m "restarts_engine and not online"' in restarting
    assert '-m "not restarts_engine and not host_binfmt and not online"' in rest


def run_phases(tmp_path: Path, failing: str) -> subprocess.CompletedProcess[str]:
    """.ci/phases with a stand-in `python` that fails the phase named (one, two or none)
    and logs each call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "$*" >>"$PHASES_LOG"\n'
        'case "$*" in *"-n 3"*) phase=two ;; *own_engine*) phase=beside ;; *) phase=one ;; esac\n'
        'echo "ran phase $phase"\n'
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


ONE = "phase one, the test that turns a binfmt handler off, alone"
TWO = "phase two, the other tests in three workers"
BESIDE_TWO = "phase two, beside it on an engine of their own, the tests that restart or kill"


def test_a_failed_first_phase_does_not_hide_the_others(tmp_path: Path) -> None:
    ran = run_phases(tmp_path, failing="one")
    assert ran.returncode == 1
    assert len((tmp_path / "calls").read_text().splitlines()) == 3
    assert f"== {ONE}: exit 1" in ran.stdout
    assert f"== {TWO}: exit 0" in ran.stdout
    assert f"== {BESIDE_TWO} the engine: exit 0" in ran.stdout


def test_a_failed_second_phase_fails_the_run(tmp_path: Path) -> None:
    ran = run_phases(tmp_path, failing="two")
    assert ran.returncode == 1
    assert f"{ONE}: exit 0" in ran.stdout
    assert f"{TWO}: exit 1" in ran.stdout


def test_a_failed_restarting_test_fails_the_run_and_its_output_is_shown(tmp_path: Path) -> None:
    ran = run_phases(tmp_path, failing="beside")
    assert ran.returncode == 1
    assert f"{BESIDE_TWO} the engine: exit 1" in ran.stdout
    shown = ran.stdout.split("== what the tests that restart or kill the engine printed", 1)
    assert "ran phase beside" in shown[1]


def test_all_phases_passing_pass(tmp_path: Path) -> None:
    assert run_phases(tmp_path, failing="none").returncode == 0
