"""apt for containers of the target platform, applied with Container.with_()."""

from __future__ import annotations

import shlex

import dagger
from dagger import dag

from ci.images import ContainerStep
from ci.platforms import Platform

APT_ARCHIVES = "/var/cache/apt/archives"
APT_LISTS = "/var/lib/apt/lists"


def apt_run(platform: Platform, script: str) -> ContainerStep:
    """Run a shell script that uses apt, with apt's caches mounted for this step only.

    apt's archives and lists live in cache volumes keyed by platform, so images carry no
    apt cache and each platform keeps its own.
    """

    def apply(container: dagger.Container) -> dagger.Container:
        locked = dagger.CacheSharingMode.LOCKED
        return (
            # Images that clean apt's cache after each install would empty the volume.
            container.with_exec(["rm", "-f", "/etc/apt/apt.conf.d/docker-clean"])
            .with_mounted_cache(
                APT_ARCHIVES,
                dag.cache_volume(f"antrea-ci-apt-archives-{platform.slug}"),
                sharing=locked,
            )
            .with_mounted_cache(
                APT_LISTS, dag.cache_volume(f"antrea-ci-apt-lists-{platform.slug}"), sharing=locked
            )
            .with_env_variable("DEBIAN_FRONTEND", "noninteractive")
            .with_exec(["sh", "-ec", script])
            .without_env_variable("DEBIAN_FRONTEND")
            .without_mount(APT_ARCHIVES)
            .without_mount(APT_LISTS)
        )

    return apply


def install_command(*packages: str) -> str:
    """The apt-get install command line for packages, without recommends."""
    return "apt-get install -y -q --no-install-recommends " + shlex.join(packages)


def apt_install(
    platform: Platform, *packages: str, satisfy: list[str] | None = None
) -> ContainerStep:
    """Install packages (and satisfy dependency relations) without recommends."""
    commands = ["apt-get update -q"]
    if packages:
        commands.append(install_command(*packages))
    if satisfy:
        relations = shlex.quote(", ".join(satisfy))
        commands.append(f"apt-get satisfy -y -q --no-install-recommends {relations}")
    return apt_run(platform, " && ".join(commands))
