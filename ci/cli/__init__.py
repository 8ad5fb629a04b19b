"""antrea-ci, the command line front: parses options, calls the package's classes, prints.

A file per command group: build, test, release (publish, publish-arch, merge,
publish-base), doctor (doctor, matrix), baseline; options.py writes their options from
ci/core/inputs.py, running.py runs them.
"""

from __future__ import annotations

import typer

from ci.cli import baseline, build, doctor, release, test

app = typer.Typer(
    help="Build, test and publish Antrea's images for every Linux platform.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def antrea_ci() -> None:
    """Build, test and publish Antrea's images for every Linux platform."""


app.command()(build.build)
app.command()(test.test)
release.register(app)
app.command()(doctor.doctor)
app.command()(doctor.matrix)
app.add_typer(baseline.baseline_app, name="baseline")


def main() -> None:
    app()
