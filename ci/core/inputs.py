"""Every input the two fronts take, defined once: name, help text, default (pure, no engine).

The module's constructor and functions (ci/main.py) and the command line's options
(ci/cli/) are both written from these; tests/unit/test_fronts.py holds the fronts to them,
so an input added to one front only fails that test.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from ci.core.versions import pins

Value = TypeVar("Value")


class Kind(StrEnum):
    """What an input's value is: the command line reads paths where the module takes
    Dagger's directories and files."""

    TEXT = "text"
    FLAG = "flag"
    TEXTS = "texts"
    DIRECTORY = "directory"
    FILE = "file"
    # A Go cache store: a registry repository, or (the command line) a directory.
    STORE = "store"


@dataclass(frozen=True)
class Input(Generic[Value]):
    """One input: its Python name (the module's argument; the command line's option is
    --NAME with dashes, or `flag`), what it is, its default and its help text."""

    name: str
    kind: Kind
    default: Value
    help: str
    # The command line's spelling when it is not --NAME (a repeated option in the singular).
    flag: str = ""
    short: str = ""
    # The environment variable the command line reads it from, if any.
    env: str = ""

    @property
    def option(self) -> str:
        """The command line's option, e.g. --distro-image."""
        return self.flag or "--" + self.name.replace("_", "-")


# What an image build is made from: the module's constructor, the command line's build,
# test and publishing commands.
SOURCE: Input[None] = Input(
    "source", Kind.DIRECTORY, None, "Antrea source tree (default: the pinned upstream release)"
)
DISTRO_IMAGE: Input[str] = Input(
    "distro_image",
    Kind.TEXT,
    pins().distro_image,
    "Distribution image of the runtime images",
    env="ANTREA_CI_DISTRO_IMAGE",
)
GO_IMAGE: Input[str] = Input(
    "go_image",
    Kind.TEXT,
    "",
    "Go image that compiles the binaries (default: golang:<the tree's Go version>)",
    env="ANTREA_CI_GO_IMAGE",
)
OVS_TARBALL: Input[None] = Input(
    "ovs_tarball",
    Kind.FILE,
    None,
    "Open vSwitch release tarball (default: the release the tree pins)",
    env="ANTREA_CI_OVS_TARBALL",
)
ALLOW_OVS_VERSION_MISMATCH: Input[bool] = Input(
    "allow_ovs_version_mismatch",
    Kind.FLAG,
    False,
    "Build an OVS tarball whose version is not the one the tree pins",
)
BASE_REGISTRY: Input[str] = Input(
    "base_registry",
    Kind.TEXT,
    "",
    "Namespace where publish-base pushed OVS and base images, reused when present",
)
IPTABLES_WRAPPER_SOURCE: Input[None] = Input(
    "iptables_wrapper_source",
    Kind.DIRECTORY,
    None,
    "kubernetes-sigs/iptables-wrappers source (default: the commit the tree pins)",
    env="ANTREA_CI_IPTABLES_WRAPPER_SOURCE",
)
CACHE_FROM: Input[str] = Input(
    "cache_from",
    Kind.STORE,
    "",
    "Go cache to restore before building or testing: a registry repository, or (antrea-ci) "
    "a directory",
)
CACHE_TO: Input[str] = Input(
    "cache_to",
    Kind.STORE,
    "",
    "Where to save the Go cache after building or testing: a registry repository, or "
    "(antrea-ci) a directory",
)
BUILD_INPUTS: tuple[Input[None] | Input[str] | Input[bool], ...] = (
    SOURCE,
    DISTRO_IMAGE,
    GO_IMAGE,
    OVS_TARBALL,
    ALLOW_OVS_VERSION_MISMATCH,
    BASE_REGISTRY,
    IPTABLES_WRAPPER_SOURCE,
    CACHE_FROM,
    CACHE_TO,
)
# What the unit tests read of them: the tree, the Go image and Go's cache.
TEST_INPUTS = (SOURCE, GO_IMAGE, CACHE_FROM, CACHE_TO)

# Function arguments.
PLATFORM: Input[str] = Input(
    "platform",
    Kind.TEXT,
    "",
    "Target platform, e.g. linux/arm64 or linux/arm/v7 (default: the engine's own)",
    short="-p",
)
PLATFORMS: Input[None] = Input(
    "platforms",
    Kind.TEXTS,
    None,
    "Target platforms (default: those of build/platforms.toml)",
    flag="--platform",
    short="-p",
)
SURICATA: Input[bool] = Input(
    "suricata",
    Kind.FLAG,
    True,
    "Install Suricata from its Ubuntu PPA, as upstream does (left out, saying so, elsewhere)",
)
NAMESPACES: Input[None] = Input(
    "namespaces",
    Kind.TEXTS,
    None,
    "Where to push, REGISTRY/NAMESPACE each, e.g. docker.io/antrea ghcr.io/antrea-io",
    flag="--namespace",
)
NAMESPACE: Input[str] = Input(
    "namespace", Kind.TEXT, "", "REGISTRY/NAMESPACE of the base images, e.g. ghcr.io/antrea-io"
)
TAG: Input[str] = Input("tag", Kind.TEXT, "", "Image tag, e.g. v2.7.0")
LATEST: Input[bool] = Input("latest", Kind.FLAG, False, "Also tag latest")
OVERWRITE: Input[bool] = Input(
    "overwrite",
    Kind.FLAG,
    False,
    "Move a release tag (v*) that already holds other content (refused otherwise)",
)
GATE_TESTS: Input[str] = Input(
    "gate_tests",
    Kind.TEXT,
    "",
    "Also run the unit tests of this package pattern (e.g. ./pkg/util/...) on each platform "
    "in the release gate: a failure publishes nothing",
)
PACKAGES: Input[None] = Input(
    "packages",
    Kind.TEXTS,
    None,
    "Package patterns (default: cmd, pkg and multicluster, like upstream)",
    flag="--package",
)
RUN: Input[str] = Input("run", Kind.TEXT, "", "Only tests matching this -run regular expression")
EXTRA_FLAGS: Input[None] = Input(
    "extra_flags",
    Kind.TEXTS,
    None,
    "Extra `go test` flags, e.g. -count=1 or -short",
    flag="--extra-flag",
)
COVERAGE: Input[bool] = Input("coverage", Kind.FLAG, False, "Write a coverage profile")
RACE: Input[str] = Input(
    "race",
    Kind.TEXT,
    "auto",
    "Race detector: auto (where Go has it and the platform runs natively), on or off",
)
