"""The GitHub Actions workflows: actionlint (with shellcheck) and what CI relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci.core.matrix import ci_matrix
from ci.core.platforms import configured_platforms
from ci.core.versions import parse_env_file, pins

ROOT = Path(__file__).parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT_VERSION = parse_env_file((ROOT / "build" / "versions.env").read_text())[
    "ACTIONLINT_VERSION"
]
INSTALL_HINT = (
    'run `eval "$(tests/engine/tools)"`, which installs actionlint and shellcheck, or '
    f"`go install github.com/rhysd/actionlint/cmd/actionlint@{ACTIONLINT_VERSION}` and "
    "`apt-get install shellcheck`"
)
DAGGER_ACTION = "dagger/dagger-for-github@"
# `matrix.KEY` in an expression, not `needs.matrix.outputs...`.
MATRIX_KEY = re.compile(r"(?<![\w.-])matrix\.(\w+)")
MATRIX_FROM_JOB = re.compile(r"\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.([\w-]+)\)\s*\}\}")
JOB_OUTPUT = re.compile(r"\$\{\{\s*jobs\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}")
STEP_OUTPUT = re.compile(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}")


def _tool(name: str) -> str:
    """The tool's path; the test fails, never skips, when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: {INSTALL_HINT}", pytrace=False)
    return path


def _workflows() -> dict[str, dict[Any, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in WORKFLOWS.glob("*.yml")}


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` mapping (YAML 1.1 reads the bare key `on` as True)."""
    triggers: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return triggers


def _jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in sorted(_workflows().items()):
        for job_id, job in workflow["jobs"].items():
            yield name, job_id, job


def _dagger_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if step.get("uses", "").startswith(DAGGER_ACTION)]


def _matrix_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, job_id, job) for name, job_id, job in _jobs() if "matrix" in job.get("strategy", {})
    ]


def _runs_antrea_ci_matrix(
    workflows: dict[str, dict[Any, Any]], workflow: str, job_id: str, output: str
) -> bool:
    """Whether a job output is what `antrea-ci matrix` printed, through reusable workflows."""
    job = workflows[workflow]["jobs"][job_id]
    if "uses" in job:
        called = Path(job["uses"]).name
        value = _triggers(workflows[called])["workflow_call"]["outputs"][output]["value"]
        match = JOB_OUTPUT.fullmatch(value)
        if not match:
            return False
        return _runs_antrea_ci_matrix(workflows, called, *match.groups())
    match = STEP_OUTPUT.fullmatch(job["outputs"][output])
    if not match:
        return False
    step_id, step_output = match.groups()
    script = next(step["run"] for step in job["steps"] if step.get("id") == step_id)
    return "antrea-ci matrix" in script and f'"{step_output}=$matrix"' in script


def test_actionlint_and_shellcheck_pass() -> None:
    actionlint = _tool("actionlint")
    shellcheck = _tool("shellcheck")
    version = subprocess.run(
        [actionlint, "-version"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    assert version == ACTIONLINT_VERSION, f"actionlint {version} on PATH: {INSTALL_HINT}"
    files = sorted(str(path.relative_to(ROOT)) for path in WORKFLOWS.glob("*.yml"))
    assert files
    result = subprocess.run(
        [actionlint, f"-shellcheck={shellcheck}", *files], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dagger_steps_pin_the_dagger_version_of_versions_env() -> None:
    steps = [step for _, _, job in _jobs() for step in _dagger_steps(job)]
    assert steps
    for step in steps:
        assert re.fullmatch(r"dagger/dagger-for-github@v\d+", step["uses"])
        assert step["with"]["version"] == pins().dagger
        assert step["with"]["verb"] in ("call", "check")


def test_secrets_reach_dagger_only_as_env_references() -> None:
    for name, job_id, job in _jobs():
        for step in job.get("steps", []):
            where = f"{name} {job_id}"
            assert "secrets." not in f"{step.get('run', '')} {step.get('with', '')}", where
            env = step.get("env", {})
            for variable in re.findall(r"--secret=(\S+)", step.get("with", {}).get("args", "")):
                assert variable.startswith("env:"), where
                assert variable.removeprefix("env:") in env, where


def test_matrix_jobs_take_the_matrix_from_antrea_ci_matrix() -> None:
    workflows = _workflows()
    matrix_jobs = _matrix_jobs()
    assert {name for name, _, _ in matrix_jobs} == {
        "pull-request.yml",
        "publish.yml",
        "base-images.yml",
    }
    for name, job_id, job in matrix_jobs:
        match = MATRIX_FROM_JOB.fullmatch(str(job["strategy"]["matrix"]))
        assert match, f"{name} {job_id}: the matrix must be fromJSON of a job output"
        producer, output = match.groups()
        needs = [job["needs"]] if isinstance(job["needs"], str) else job["needs"]
        assert producer in needs, f"{name} {job_id}"
        assert _runs_antrea_ci_matrix(workflows, name, producer, output), f"{name} {job_id}"


def test_matrix_jobs_handle_every_configured_platform() -> None:
    fallback = re.findall(r"--fallback-runner ([\w.-]+)", str(_workflows()["matrix.yml"]))
    assert fallback
    # Every entry, native or fallback, of every platform of build/platforms.toml.
    entries = [
        entry
        for runner in [None, *fallback]
        for entry in ci_matrix(configured_platforms(), runner)["include"]
    ]
    for name, job_id, job in _matrix_jobs():
        where = f"{name} {job_id}"
        assert job["runs-on"] == "${{ matrix.runner }}", where
        assert all(set(MATRIX_KEY.findall(str(job))) <= entry.keys() for entry in entries), where
        steps = job["steps"]
        qemu = [i for i, step in enumerate(steps) if "setup-qemu-action" in step.get("uses", "")]
        # The pipeline runs through the Dagger action or the antrea-ci CLI (not `matrix`).
        pipeline = [
            i
            for i, step in enumerate(steps)
            if step.get("uses", "").startswith(DAGGER_ACTION)
            or re.search(r"antrea-ci (build|test|publish)", step.get("run", ""))
        ]
        assert qemu and pipeline and qemu[0] < pipeline[0], where
        assert steps[qemu[0]]["if"] == "matrix.emulated", where
        for i in pipeline:
            step = steps[i]
            if "run" in step:
                assert '--platform "$PLATFORM"' in step["run"], where
                assert {**job.get("env", {}), **step.get("env", {})}["PLATFORM"] == (
                    "${{ matrix.platform }}"
                ), where
            elif step["with"]["verb"] == "check":
                # The platform's check, by the name `antrea-ci matrix` gives it.
                assert step["with"]["args"] == "${{ matrix.check }}", where
            else:
                args = step["with"]["args"]
                assert re.search(r"--platforms?=\$\{\{ matrix\.platform \}\}", args), where
    # Platforms come from the matrix only: a listed one would miss a new line in platforms.toml.
    for name, workflow in _workflows().items():
        assert not re.search(r"linux/\w", str(workflow)), name


def test_base_images_follow_paths_that_exist() -> None:
    paths = _triggers(_workflows()["base-images.yml"])["push"]["paths"]
    for pattern in paths:
        assert (ROOT / pattern.split("*")[0]).exists(), pattern


def test_pull_request_builds_are_compared_with_mains_timings() -> None:
    workflow = _workflows()["pull-request.yml"]
    assert _triggers(workflow)["push"]["branches"] == ["main"]
    steps = workflow["jobs"]["build"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert '--timings "$TIMINGS"' in runs and "antrea-ci baseline compare" in runs
    uploaded = next(s for s in steps if "upload-artifact" in s.get("uses", ""))["with"]["name"]
    downloaded = next(s for s in steps if s.get("id") == "baseline")["env"]["ARTIFACT"]
    assert uploaded == downloaded == "timings-build-${{ matrix.slug }}"


def _saves_the_go_cache(step: dict[str, Any]) -> bool:
    text = step.get("run", "") + str(step.get("with", {}).get("args", ""))
    return "actions/cache/save" in step.get("uses", "") or "--cache-to" in text


def test_only_pushes_to_main_and_releases_save_the_go_cache() -> None:
    """A pull request, a fork's included, restores the Go cache and never writes it: every
    save is a step that runs on pushes to main only, or in a workflow no pull request
    starts; and no job a pull request starts may write packages."""
    main_only = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    saves = 0
    for name, job_id, job in _jobs():
        workflow = _workflows()[name]
        by_pull_request = "pull_request" in _triggers(workflow)
        if by_pull_request:
            permissions = {**workflow.get("permissions", {}), **job.get("permissions", {})}
            assert "write" not in permissions.values(), f"{name} {job_id}"
        for step in job.get("steps", []):
            if not _saves_the_go_cache(step):
                continue
            saves += 1
            where = f"{name} {job_id} {step.get('name', step.get('uses'))}"
            if "uses" in step and "actions/cache/save" in step["uses"]:
                assert main_only in step["if"], where
            elif by_pull_request:
                assert "if [[ $SAVE_GO_CACHE == true ]]; then save=(--cache-to" in step["run"]
                assert workflow["env"]["SAVE_GO_CACHE"] == "${{ " + main_only + " }}", where
    assert saves >= 5
    restores = [
        step
        for _, _, job in _jobs()
        for step in job.get("steps", [])
        if "actions/cache/restore" in step.get("uses", "")
    ]
    assert restores and all("restore-keys" in step["with"] for step in restores)


def test_the_jobs_that_matter_write_a_summary() -> None:
    """The job summaries come from antrea-ci (it writes $GITHUB_STEP_SUMMARY by default):
    each platform's build and tests, the baseline comparison and trend chart, the merge."""
    runs = {
        f"{name} {job_id}": " ".join(step.get("run", "") for step in job.get("steps", []))
        for name, job_id, job in _jobs()
    }
    assert "antrea-ci build" in runs["pull-request.yml build"]
    assert "antrea-ci test" in runs["pull-request.yml unit-tests"]
    build = runs["pull-request.yml build"]
    assert "antrea-ci baseline compare" in build and "antrea-ci baseline trend" in build
    assert "antrea-ci merge" in runs["publish.yml merge"]
    assert "GITHUB_STEP_SUMMARY" not in " ".join(runs.values())  # the default, never redirected
