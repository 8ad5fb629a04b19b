"""The job summary a maintainer reads, drawn: `python -m benchmarks.summary_page [--write]`.

On the offline test bed: the fixture built for two platforms, its tests run on a tree with
failing tests, the images published, and the build compared with an earlier one and drawn
over the builds before it, each command writing its summary as on GitHub
($GITHUB_STEP_SUMMARY); the page is drawn in Chromium as GitHub lays it out. With --write,
docs/job-summary.md and docs/job-summary.png (README links them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Annotated

import typer

from tests.support.inputs import ANTREA_CI, FIXTURES, antrea_checkout, fixture_options, ovs_tarball
from tests.support.rendering import page_png
from tests.support.testbed import require_testbed

DOCS = Path(__file__).resolve().parents[1] / "docs"


def antrea_ci(summary: Path, *args: str, check: bool = True) -> None:
    """One antrea-ci command, writing its summary where GitHub's would be."""
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    done = subprocess.run([ANTREA_CI, *args], env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"antrea-ci {args[0]} failed: {done.stderr[-2000:]}")


def main(
    write: Annotated[bool, typer.Option(help="Write docs/job-summary.md and .png.")] = False,
) -> None:
    """Run the commands, print the summary they wrote, draw it."""
    testbed = require_testbed()
    with tempfile.TemporaryDirectory(prefix="antrea-ci-summary-") as scratch:
        work = Path(scratch)
        summary = work / "summary.md"
        checkout, tarball = antrea_checkout(work), ovs_tarball(work)
        images = testbed.image_options
        build = [*fixture_options(checkout, tarball), *images]
        timings = work / "timings"
        for run in range(3):
            # Earlier builds to compare with and draw, each one Go file further.
            with (checkout / "pkg/version/version.go").open("a") as changed:
                changed.write(f"\nvar summaryPageRun{run} = {run}\n")
            antrea_ci(
                work / f"earlier-{run}.md",
                *["build", *build, "-p", "linux/amd64", "-p", "linux/arm64"],
                *["--output", str(work / "out"), "--timings", str(timings / f"build-{run}.json")],
            )
        latest = timings / "latest.json"
        with (checkout / "pkg/version/version.go").open("a") as changed:
            changed.write("\nvar summaryPageLatest = 1\n")  # the Go stages run again
        antrea_ci(
            summary,
            *["build", *build, "-p", "linux/amd64", "-p", "linux/arm64"],
            *["--output", str(work / "out"), "--timings", str(latest)],
        )
        antrea_ci(summary, "baseline", "compare", str(timings / "build-2.json"), str(latest))
        antrea_ci(summary, "baseline", "trend", *map(str, sorted(timings.glob("*.json"))))
        failing = antrea_checkout(work / "failing")
        shutil.copytree(FIXTURES / "failing-tests/pkg", failing / "pkg", dirs_exist_ok=True)
        antrea_ci(summary, "test", "--source", str(failing), "-p", "linux/amd64", check=False)
        namespace = f"{testbed.registry}/summary-page-{uuid.uuid4().hex[:8]}"
        antrea_ci(
            summary,
            *["publish", *build, "-p", "linux/amd64", "-p", "linux/arm64"],
            *["--namespace", namespace, "--tag", "v2.7.0", "--latest"],
        )
        text = summary.read_text()
        print(text)
        if write:
            DOCS.mkdir(exist_ok=True)
            (DOCS / "job-summary.md").write_text(text)
            page_png(text, DOCS / "job-summary.png", 1200, 3000)
            print(f"drawn in {DOCS / 'job-summary.png'}")


if __name__ == "__main__":
    typer.run(main)
