"""apt for containers of the target platform, applied with Container.with_()."""

from __future__ import annotations

import shlex

import dagger

from ci.images import ContainerStep

APT_LISTS = "/var/lib/apt/lists"
APT_CACHE = "/var/cache/apt"


def apt_run(script: str) -> ContainerStep:
    """Run a shell script that uses apt; the image keeps neither apt's lists nor its cache
    (removed as upstream's Dockerfiles remove them: `rm -rf /var/cache/apt/* ...`).

    No cache volume for apt: Dagger namespaces cache volumes by module, so a step that
    mounts one has other cache keys under `dagger call` than under `antrea-ci`, and the two
    fronts would build different layers of the same image. The engine's cache keeps each
    step's result; only a step that runs again downloads its packages again.
    """

    def apply(container: dagger.Container) -> dagger.Container:
        return (
            container.with_env_variable("DEBIAN_FRONTEND", "noninteractive")
            .with_exec(["sh", "-ec", f"{script}\nrm -rf {APT_CACHE}/* {APT_LISTS}/*"])
            .without_env_variable("DEBIAN_FRONTEND")
        )

    return apply


def install_command(*packages: str) -> str:
    """The apt-get install command line for packages, without recommends."""
    return "apt-get install -y -q --no-install-recommends " + shlex.join(packages)


def apt_install(*packages: str, satisfy: list[str] | None = None) -> ContainerStep:
    """Install packages (and satisfy dependency relations) without recommends."""
    commands = ["apt-get update -q"]
    if packages:
        commands.append(install_command(*packages))
    if satisfy:
        relations = shlex.quote(", ".join(satisfy))
        commands.append(f"apt-get satisfy -y -q --no-install-recommends {relations}")
    return apt_run(" && ".join(commands))
