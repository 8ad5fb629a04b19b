"""`antrea-ci build --load`: the exported image tarballs into the local Docker daemon."""

from __future__ import annotations

from pathlib import Path

import anyio

from ci.core.errors import first_line

LOADED = ("Loaded image ID:", "Loaded image:")


class DockerLoadError(RuntimeError):
    """Docker is missing, its daemon does not answer, or it refused an image."""


def loaded_reference(output: str) -> str:
    """The image `docker load` says it loaded (an ID or a name), or "" (pure)."""
    for line in reversed(output.splitlines()):
        for prefix in LOADED:
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
    return ""


async def _docker(name: str, *args: str) -> str:
    """Run `docker ARGS` for the image `name`; its standard output, or DockerLoadError."""
    try:
        result = await anyio.run_process(["docker", *args], check=False)
    except FileNotFoundError:
        raise DockerLoadError(f"cannot load {name}: docker is not installed") from None
    except OSError as error:
        raise DockerLoadError(f"cannot load {name}: docker: {error.strerror}") from None
    stdout = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        detail = first_line(result.stderr.decode(errors="replace"), first_line(stdout))
        raise DockerLoadError(f"cannot load {name}: docker {args[0]}: {detail}")
    return stdout


async def load_image(tarball: Path, name: str) -> str:
    """Load an image tarball into Docker and tag it `name`; returns what docker loaded."""
    reference = loaded_reference(await _docker(name, "load", "--input", str(tarball)))
    if not reference:
        raise DockerLoadError(f"cannot load {name}: docker load named no image ({tarball})")
    if reference != name:
        await _docker(name, "tag", reference, name)
    return reference
