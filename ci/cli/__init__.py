"""antrea-ci, the command line front: parses options, calls the package's classes, prints."""

from ci.cli.commands import app, main

__all__ = ["app", "main"]
