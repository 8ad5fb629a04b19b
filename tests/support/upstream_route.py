"""Upstream Antrea's own route, run on the offline test bed: its build script and make
targets on a copy of a tree, as upstream's CI calls them, with the listed offline
substitutions (tests/support/upstream_substitutions.py).

What the route needs from the network, and what stands in for it here:
- `$DOCKER_REGISTRY/antrea/ubuntu:24.04` and `.../golang:<go-version>` (upstream's mirror
  path): the test bed's distribution seed, and its Go seed with git and make added (the
  official golang image has both; upstream's Go stages run make and git);
- a file server on the Docker bridge (RUN steps cannot reach the host's 127.0.0.1): the OVS
  tarball, the CNI plugins .tgz for each architecture (built from the Go module proxy at the
  tree's pinned version, static, as CNI's release builds them), and iptables-wrappers as a
  git repository served over HTTP;
- buildx (the Docker on the test bed has none): built from the Go module proxy by
  tests/engine/tools (ANTREA_CI_BUILDX), given to the docker CLI through DOCKER_CONFIG.
The copy of the tree is committed after the substitutions, so that both routes build one
clean git checkout and the binaries carry the same version.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ci.core.platforms import Platform
from tests.support.inputs import FIXTURES, REAL_ANTREA_TARBALL, WRAPPER_FIXTURE, git
from tests.support.testbed import OfflineTestBed
from tests.support.upstream_substitutions import Substitution, apply

# Where each kept CNI plugin lives in github.com/containernetworking/plugins.
CNI_PLUGIN_PACKAGES = {
    "host-local": "plugins/ipam/host-local",
    "loopback": "plugins/main/loopback",
    "portmap": "plugins/meta/portmap",
    "bandwidth": "plugins/meta/bandwidth",
}
CNI_MODULE = "github.com/containernetworking/plugins"
# The images upstream's route leaves in Docker under antrea/NAME:VERSION-SHA.
IMAGES = ("antrea-agent-ubuntu", "antrea-controller-ubuntu", "flow-aggregator")


class RouteError(RuntimeError):
    """A step of upstream's route that failed; the message names it and its log."""


def run(command: list[str], log: Path | None = None, **kwargs: object) -> None:
    """Run a command; on failure raise naming it (and its log, where its output went)."""
    if log is None:
        done = subprocess.run(command, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
        output = f"{done.stdout}{done.stderr}"
    else:
        with log.open("a") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, **kwargs)  # type: ignore[call-overload]
        output = f"see {log}"
    if done.returncode != 0:
        raise RouteError(
            f"{' '.join(command[:4])} failed (exit {done.returncode}): {output[-2000:]}"
        )


def docker_bridge_address() -> str:
    """The host's address on Docker's default bridge, which build steps can reach."""
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True, check=True
    ).stdout.split()
    return shown[shown.index("inet") + 1].split("/")[0]


@contextmanager
def file_server(directory: Path, address: str) -> Iterator[str]:
    """Serve a directory over HTTP on address (a free port); yields its URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((address, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A file handler that does not log each request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        return


def cni_plugins_tarball(version: str, platform: Platform, destination: Path) -> Path:
    """The kept CNI plugins at version for the platform, built from the Go module proxy as
    CNI's release builds them (CGO off, static, BuildVersion set) and packed like its
    release .tgz (./host-local, ...)."""
    arch = platform.arch
    tarball = destination / f"cni-plugins-linux-{arch}-{version}.tgz"
    with tempfile.TemporaryDirectory(prefix="antrea-ci-cni-") as scratch:
        work = Path(scratch)
        env = {**os.environ, **platform.go_env, "CGO_ENABLED": "0", "GOFLAGS": ""}
        run(["go", "mod", "init", "upstream-route/cni-plugins"], cwd=work, env=env)
        packages = [f"{CNI_MODULE}/{package}" for package in CNI_PLUGIN_PACKAGES.values()]
        run(["go", "get", *(f"{package}@{version}" for package in packages)], cwd=work, env=env)
        flags = f"-extldflags -static -X {CNI_MODULE}/pkg/utils/buildversion.BuildVersion={version}"
        (work / "bin").mkdir()
        run(["go", "build", "-o", "bin/", "-ldflags", flags, *packages], cwd=work, env=env)
        with tarfile.open(tarball, "w:gz") as packed:
            for name in CNI_PLUGIN_PACKAGES:
                packed.add(work / "bin" / name, arcname=f"./{name}")
    return tarball


# A docker in front of the real one on PATH: each call's start, end and arguments appended
# to $ROUTE_CALLS, so that each of upstream's builds is timed as it ran (its steps overlap).
DOCKER_SHIM = """#!/bin/sh
start=$(date +%s.%N)
"$ROUTE_DOCKER" "$@"
code=$?
printf '%s %s %s\\n' "$start" "$(date +%s.%N)" "$*" >>"$ROUTE_CALLS"
exit $code
"""
# The image each of upstream's builds tags (-t antrea/NAME...), and the antrea-ci stage
# doing the same work.
SAME_WORK = {
    "antrea/openvswitch-": "ovs",
    "antrea/base-ubuntu-": "base",
    "antrea/antrea-controller-ubuntu:": "controller",
    "antrea/antrea-agent-ubuntu:": "agent",
    "antrea/flow-aggregator:": "flow_aggregator",
}


@dataclass(frozen=True)
class DockerCall:
    """One docker command upstream's route ran, and when."""

    start: float
    end: float
    args: str

    @property
    def stage(self) -> str:
        """The antrea-ci stage doing the same work, for a build ("" for another call)."""
        if " build " not in f" {self.args} ":
            return ""
        tagged = self.args.split(" -t ", 1)[1].split()[0] if " -t " in self.args else ""
        return next((s for prefix, s in SAME_WORK.items() if tagged.startswith(prefix)), "")


def run_group(
    command: list[str], cwd: Path, env: dict[str, str], out: IO[str], limit: float | None
) -> int | None:
    """Run a command in a process group of its own; its exit code, or None when it ran
    past the limit (seconds) and its group was killed."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        return process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None


def docker_calls(text: str) -> list[DockerCall]:
    """The calls the shim recorded."""
    calls = []
    for line in text.splitlines():
        start, end, args = line.split(" ", 2)
        calls.append(DockerCall(float(start), float(end), args))
    return calls


@dataclass
class RouteRun:
    """One run of upstream's route for a platform: each command's seconds, and the seconds
    of its builds by the antrea-ci stage doing the same work."""

    platform: str
    commands: dict[str, float] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    stopped: bool = False  # stopped at its limit: its seconds are a lower bound

    @property
    def seconds(self) -> float:
        return sum(self.commands.values())


@dataclass
class UpstreamRoute:
    """Upstream's route on a committed copy of a tree, with the test bed's stand-ins."""

    testbed: OfflineTestBed
    work: Path
    source: Path  # the Antrea tree (copied)
    ovs_tarball: Path
    iptables_wrappers: Path  # a git repository holding the commit the tree pins
    buildx: Path
    substitutions: list[Substitution] = field(default_factory=list)

    @property
    def tree(self) -> Path:
        return self.work / "tree"

    @property
    def files(self) -> Path:
        return self.work / "files"

    def versions(self) -> dict[str, str]:
        """The tree's pinned versions upstream's scripts read (build/images/deps)."""
        deps = self.tree / "build/images/deps"
        return {
            name: (deps / name).read_text().splitlines()[0].strip()
            for name in ("go-version", "cni-binaries-version", "ovs-version", "suricata-version")
        }

    def prepare(self, files_url: str) -> None:
        """Copy and substitute the tree, commit it, and lay out the served files."""
        if self.tree.exists():
            shutil.rmtree(self.tree)
        shutil.copytree(self.source, self.tree, symlinks=True)
        self.substitutions = apply(self.tree, files_url)
        if (self.tree / ".git").exists():
            shutil.rmtree(self.tree / ".git")
        git(self.tree, "init", "-q", "-b", "main")
        git(self.tree, "add", "-A")
        identity = ["-c", "user.name=upstream route", "-c", "user.email=route@antrea-ci.invalid"]
        git(self.tree, *identity, "commit", "-q", "-m", "upstream route")
        self.files.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.ovs_tarball, self.files / self.ovs_tarball.name)
        served = self.files / "iptables-wrappers.git"
        if served.exists():
            shutil.rmtree(served)
        run(["git", "clone", "-q", "--bare", str(self.iptables_wrappers), str(served)])
        run(["git", "-C", str(served), "update-server-info"])
        shim = self.work / "shim" / "docker"
        shim.parent.mkdir(parents=True, exist_ok=True)
        shim.write_text(DOCKER_SHIM)
        shim.chmod(0o755)
        config = self.work / "docker-config" / "cli-plugins"
        config.mkdir(parents=True, exist_ok=True)
        plugin = config / "docker-buildx"
        plugin.unlink(missing_ok=True)
        plugin.symlink_to(self.buildx)

    def prepare_platform(self, platform: Platform, log: Path) -> None:
        """The platform's CNI plugins .tgz and its seeds under upstream's mirror path."""
        version = self.versions()["cni-binaries-version"]
        if not (self.files / f"cni-plugins-linux-{platform.arch}-{version}.tgz").exists():
            cni_plugins_tarball(version, platform, self.files)
        mirror = f"{self.testbed.registry}/antrea"
        run(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                *self._platform_override(platform),
                f"docker://{self.testbed.distro_image}",
                f"docker://{mirror}/ubuntu:24.04",
            ],
            log,
        )
        golang = f"{mirror}/golang:{self.versions()['go-version']}"
        dockerfile = (
            f"FROM {self.testbed.go_image}\n"
            "RUN command -v git >/dev/null && command -v make >/dev/null || "
            "{ apt-get update -q && apt-get install -y -q --no-install-recommends git make "
            "&& rm -rf /var/lib/apt/lists/*; }\n"
        )
        self._docker(
            ["build", "--pull", "--platform", str(platform), "-t", golang, "-"],
            log,
            stdin=dockerfile,
        )
        self._docker(["push", golang], log)

    @staticmethod
    def _platform_override(platform: Platform) -> list[str]:
        flags = ["--override-os", platform.os, "--override-arch", platform.arch]
        return flags + (["--override-variant", platform.variant] if platform.variant else [])

    def env(self) -> dict[str, str]:
        """The environment upstream's commands run in."""
        return {
            **os.environ,
            "PATH": f"{self.work / 'shim'}:{os.environ['PATH']}",
            "ROUTE_DOCKER": shutil.which("docker") or "docker",
            "ROUTE_CALLS": str(self.work / "docker-calls"),
            "DOCKER_CONFIG": str(self.work / "docker-config"),
            "DOCKER_REGISTRY": self.testbed.registry,
            "DOCKER_BUILDKIT": "1",
            "BUILDKIT_PROGRESS": "plain",
        }

    def _docker(self, args: list[str], log: Path, stdin: str | None = None) -> None:
        with log.open("a") as out:
            done = subprocess.run(
                ["docker", *args],
                input=stdin,
                text=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
            )
        if done.returncode != 0:
            raise RouteError(
                f"docker {' '.join(args[:3])} failed (exit {done.returncode}): see {log}"
            )

    def build(self, platform: Platform, log: Path, limit: float = 0.0) -> RouteRun:
        """Upstream's CI for one platform: the all-images script, then the flow aggregator's
        make target (NO_PULL: the script pulled and tagged the seeds; `--pull` would go to
        Docker Hub). Each command timed, and each build (through the docker shim). With a
        limit (seconds), the route is stopped there (its process group killed: the builds
        it started are cancelled) and the run marked stopped."""
        (self.tree / "build/images/.targetarch").unlink(missing_ok=True)
        commands = {
            "hack/build-antrea-linux-all.sh": [
                *["./hack/build-antrea-linux-all.sh", "--platform", str(platform), "--pull"],
            ],
            "make flow-aggregator-image": [
                *["make", "flow-aggregator-image", f"DOCKER_TARGETPLATFORM={platform}"],
                "NO_PULL=1",
            ],
        }
        result = RouteRun(str(platform))
        calls = self.work / "docker-calls"
        calls.unlink(missing_ok=True)
        started = time.monotonic()
        for name, command in commands.items():
            begun = time.monotonic()
            left = limit - (begun - started) if limit else None
            with log.open("a") as out:
                out.write(f"\n=== {name}\n")
                out.flush()
                code = run_group(command, self.tree, self.env(), out, left)
            result.commands[name] = time.monotonic() - begun
            if code is None:
                result.stopped = True
                break
            if code != 0:
                raise RouteError(
                    f"upstream's {name} for {platform} failed (exit {code}): see {log}"
                )
        for call in docker_calls(calls.read_text() if calls.exists() else ""):
            if call.stage:
                result.stages[call.stage] = (
                    result.stages.get(call.stage, 0.0) + call.end - call.start
                )
        return result

    def wrapper_checkout(self) -> Path:
        """The iptables-wrappers commit the tree pins, checked out for antrea-ci's side
        (ARG IPTABLES_WRAPPER_SHA of the tree's base Dockerfile, as both routes read it)."""
        dockerfile = (self.tree / "build/images/base/Dockerfile").read_text()
        sha = dockerfile.split("ARG IPTABLES_WRAPPER_SHA=", 1)[1].split()[0]
        checkout = self.work / "iptables-wrappers"
        if checkout.exists():
            shutil.rmtree(checkout)
        run(["git", "clone", "-q", str(self.iptables_wrappers), str(checkout)])
        run(["git", "-C", str(checkout), "checkout", "-q", sha])
        shutil.rmtree(checkout / ".git")
        return checkout

    def image_tag(self, name: str) -> str:
        """The local tag upstream's make targets give an image as versioning.mk makes it:
        antrea/NAME:VERSION-SHA, with `.dirty` after SHA when a tracked file changed (the
        rows that change a Go file or a pinned version)."""
        version = (self.tree / "VERSION").read_text().strip()
        sha = git(self.tree, "rev-parse", "--short", "HEAD")
        dirty = git(self.tree, "status", "--porcelain", "--untracked-files=no")
        return f"antrea/{name}:{version}-{sha}{'.dirty' if dirty else ''}"

    def save(self, name: str, destination: Path) -> Path:
        """`docker save` of one of upstream's images, for comparison."""
        path = destination / f"upstream-{name}.tar"
        run(["docker", "save", "-o", str(path), self.image_tag(name)])
        return path


# The files of upstream's route (v2.7.0) laid over the antrea-mini fixture: its build
# script, make targets and the Dockerfiles of the images compared.
ROUTE_FILES = (
    ".dockerignore",
    "Makefile",
    "versioning.mk",
    "hack/build-antrea-linux-all.sh",
    "build/images/build-utils.sh",
    "build/images/build-tag.sh",
    "build/images/ovs/Dockerfile",
    "build/images/ovs/build.sh",
    "build/images/base/Dockerfile",
    "build/images/base/build.sh",
    "build/images/Dockerfile.build.agent.ubuntu",
    "build/images/Dockerfile.build.controller.ubuntu",
    "build/images/flow-aggregator/Dockerfile",
)
WRAPPER_SHA_ARG = "ARG IPTABLES_WRAPPER_SHA="


def wrappers_repository(destination: Path) -> tuple[Path, str]:
    """The iptables-wrappers-mini fixture as a git repository (a commit of fixed dates, so
    always the same SHA); returns it and its commit."""
    repository = destination / "iptables-wrappers-mini"
    shutil.copytree(WRAPPER_FIXTURE, repository)
    git(repository, "init", "-q", "-b", "main")
    git(repository, "add", "-A")
    identity = ["-c", "user.name=antrea-ci tests", "-c", "user.email=tests@antrea-ci.invalid"]
    git(repository, *identity, "commit", "-q", "-m", "fixture")
    return repository, git(repository, "rev-parse", "HEAD")


def fixture_tree(destination: Path, wrapper_sha: str) -> Path:
    """The antrea-mini fixture with upstream's route laid over it (from the v2.7.0 tree in
    ../shared/offline), pinning the iptables-wrappers fixture's commit: a tree both routes
    build in minutes. Not committed: UpstreamRoute.prepare commits its copy."""
    tree = destination / "antrea-mini-upstream"
    shutil.copytree(FIXTURES / "antrea-mini", tree)
    with tarfile.open(REAL_ANTREA_TARBALL) as archive:
        top = archive.getnames()[0].split("/")[0]
        for path in ROUTE_FILES:
            member = archive.getmember(f"{top}/{path}")
            source = archive.extractfile(member)
            assert source is not None, path
            target = tree / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
            target.chmod(member.mode & 0o777)
    dockerfile = tree / "build/images/base/Dockerfile"
    lines = [
        f"{WRAPPER_SHA_ARG}{wrapper_sha}" if line.startswith(WRAPPER_SHA_ARG) else line
        for line in dockerfile.read_text().splitlines()
    ]
    dockerfile.write_text("\n".join(lines) + "\n")
    # Upstream's Go stages bind go.sum: the fixture, which requires no module, has none.
    (tree / "go.sum").touch()
    # The offline tree's replace directives are bound by a substitution: an empty folder.
    (tree / "third_party").mkdir()
    (tree / "third_party/README").write_text("Nothing: the fixture replaces no module.\n")
    return tree
