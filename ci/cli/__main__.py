"""`python -m ci.cli`: antrea-ci, as a routed run starts it on each engine."""

from ci.cli import app

app(prog_name="antrea-ci")
