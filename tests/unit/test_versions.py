"""Pinned versions and Antrea version strings, without an engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ci.core.debian import OsRelease
from ci.core.labels import oci_labels
from ci.core.versions import (
    BASE_DOCKERFILE,
    TREE_PIN_FILES,
    AntreaVersion,
    Pinned,
    SourceError,
    SuricataChoice,
    choose_suricata,
    dockerfile_arg,
    go_directive,
    ovs_package_version,
    parse_env_file,
    parse_module_path,
    parse_version_file,
    pins,
    tree_versions,
)
from ci.images.source import missing_paths


def test_env_file_parsing_ignores_comments_and_refuses_garbage() -> None:
    assert parse_env_file("# c\n\nA=1\nB_2=x=y\n") == {"A": "1", "B_2": "x=y"}
    with pytest.raises(ValueError, match="line 1"):
        parse_env_file("not a pair")


def test_pins_keep_dagger_io_and_the_engine_together() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert f"dagger-io=={pins().dagger}" in pyproject["project"]["dependencies"]
    assert pins().go.startswith("1.26")
    assert pins().cni_plugin_names == ("host-local", "loopback", "portmap", "bandwidth")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (AntreaVersion("v2.7.0-dev", "abc1234", dirty=False), "v2.7.0-dev-abc1234"),
        (AntreaVersion("v2.7.0-dev", "abc1234", dirty=True), "v2.7.0-dev-abc1234.dirty"),
        (AntreaVersion("v2.7.0", "abc1234", dirty=False, released=True), "v2.7.0"),
        (AntreaVersion("v2.7.0-dev", "", dirty=False), "v2.7.0-dev-unknown"),
    ],
)
def test_full_version_follows_upstream(version: AntreaVersion, expected: str) -> None:
    assert version.full == expected


def test_ldflags_set_the_four_version_variables() -> None:
    flags = AntreaVersion("v2.7.0-dev", "abc1234", dirty=True).ldflags("antrea.io/antrea/v2")
    assert flags.split()[:2] == ["-s", "-w"]
    assert "-X antrea.io/antrea/v2/pkg/version.Version=v2.7.0-dev" in flags
    assert "-X antrea.io/antrea/v2/pkg/version.GitSHA=abc1234" in flags
    assert "-X antrea.io/antrea/v2/pkg/version.GitTreeState=dirty" in flags
    assert "-X antrea.io/antrea/v2/pkg/version.ReleaseStatus=unreleased" in flags


def test_a_tree_without_git_has_no_sha_nor_tree_state() -> None:
    flags = AntreaVersion("v2.7.0", "", dirty=False).ldflags("antrea.io/antrea/v2").split()
    assert "antrea.io/antrea/v2/pkg/version.GitSHA=" in flags
    assert "antrea.io/antrea/v2/pkg/version.GitTreeState=" in flags


def test_version_file_and_go_mod() -> None:
    assert parse_version_file("\nv2.7.0-dev\n") == "v2.7.0-dev"
    with pytest.raises(SourceError):
        parse_version_file("2.7")
    with pytest.raises(SourceError):
        parse_version_file("")
    assert (
        parse_module_path("// x\nmodule antrea.io/antrea/v2\n\ngo 1.26.0\n")
        == "antrea.io/antrea/v2"
    )
    with pytest.raises(SourceError):
        parse_module_path("go 1.26.0\n")


def test_missing_paths_name_what_an_antrea_tree_needs() -> None:
    assert missing_paths({"go.mod", "VERSION", "cmd"}, set(), scripts_present=True) == [
        "cmd/antrea-agent",
        "cmd/antrea-cni",
        "cmd/antrea-sysctl-init",
        "cmd/antctl",
        "cmd/antrea-controller",
        "cmd/flow-aggregator",
    ]
    complete = {
        "antrea-agent",
        "antrea-cni",
        "antrea-sysctl-init",
        "antctl",
        "antrea-controller",
        "flow-aggregator",
    }
    assert missing_paths({"VERSION"}, complete, scripts_present=False) == [
        "go.mod",
        "build/images/scripts",
    ]
    assert missing_paths({"go.mod", "VERSION"}, complete, scripts_present=True) == []


def test_labels_carry_source_revision_and_version() -> None:
    labels = oci_labels(
        "antrea-agent", "https://example.test/antrea", AntreaVersion("v1.0.0", "abc", False)
    )
    assert labels["org.opencontainers.image.version"] == "v1.0.0-abc"
    assert labels["org.opencontainers.image.revision"] == "abc"
    assert labels["org.opencontainers.image.source"] == "https://example.test/antrea"


FIXTURE = Path(__file__).parents[1] / "fixtures/antrea-mini"
WRAPPER_SHA = "c6b9b2d4ee8701f3d476768ab8732d1b85ec7fef"


def _fixture_files() -> dict[str, str]:
    paths = ["go.mod", *TREE_PIN_FILES.values(), BASE_DOCKERFILE]
    return {path: (FIXTURE / path).read_text() for path in paths}


def test_a_tree_declares_its_own_pins_like_upstream() -> None:
    versions = tree_versions(_fixture_files(), replace(pins(), ovs="9.9.9", suricata="1.0"))
    assert versions.ovs == Pinned("3.7.1", "build/images/deps/ovs-version")
    assert versions.cni_plugins == Pinned("v1.9.1", "build/images/deps/cni-binaries-version")
    assert versions.go == Pinned("1.26", "build/images/deps/go-version")
    assert versions.suricata == Pinned("7.0", "build/images/deps/suricata-version")
    assert versions.iptables_wrapper == Pinned(WRAPPER_SHA, "build/images/base/Dockerfile")
    assert versions.lines()[0] == "ovs 3.7.1 (build/images/deps/ovs-version)"
    url = versions.ovs_tarball_url("https://www.openvswitch.org/releases/")
    assert url == "https://www.openvswitch.org/releases/openvswitch-3.7.1.tar.gz"


def test_versions_env_fills_what_a_tree_does_not_declare() -> None:
    bare = tree_versions({}, pins())
    assert {pin.origin for pin in bare.named().values()} == {"build/versions.env"}
    assert bare.ovs.value == pins().ovs and bare.go.value == pins().go
    assert bare.iptables_wrapper.value == pins().iptables_wrapper_commit
    from_go_mod = tree_versions({"go.mod": "module x\n\ngo 1.26.0\n"}, pins())
    assert from_go_mod.go == Pinned("1.26.0", "go.mod")
    blank = tree_versions({"build/images/deps/ovs-version": "\n"}, pins())
    assert blank.ovs == Pinned(pins().ovs, "build/versions.env")


def test_dockerfile_arg_and_go_directive_are_read_exactly() -> None:
    dockerfile = f'FROM x\nARG GO_VERSION\n  ARG IPTABLES_WRAPPER_SHA="{WRAPPER_SHA}"\n'
    assert dockerfile_arg(dockerfile, "IPTABLES_WRAPPER_SHA") == WRAPPER_SHA
    assert dockerfile_arg(dockerfile, "GO_VERSION") == ""
    assert go_directive("module m\ngo 1.26\ntoolchain go1.26.8\n") == "1.26"
    assert go_directive("module m\n") == ""


def test_the_ovs_version_of_a_debian_changelog() -> None:
    assert ovs_package_version("openvswitch (3.7.1-1) unstable; urgency=low\n") == "3.7.1"
    assert ovs_package_version("openvswitch (1:3.6.0) unstable\n") == "3.6.0"
    assert ovs_package_version("") == ""


def test_suricata_comes_from_ubuntus_ppa_or_debians_backports_else_is_left_out_saying_why() -> None:
    pinned = Pinned("7.0", "build/images/deps/suricata-version")
    noble, bookworm = OsRelease("ubuntu", "noble"), OsRelease("debian", "bookworm")
    ubuntu = choose_suricata(True, "ubuntu:24.04", noble, "arm64", pinned)
    assert ubuntu == SuricataChoice(
        "7.0", "suricata 7.0 (build/images/deps/suricata-version)", "ppa:oisf/suricata-7.0"
    )
    debian = choose_suricata(
        True, "127.0.0.1:5310/antrea-ci/debian:bookworm", bookworm, "armhf", pinned
    )
    assert debian == SuricataChoice(
        "7.0",
        "suricata 7.0 (build/images/deps/suricata-version) from Debian's bookworm-backports",
        "bookworm-backports",
    )
    riscv = choose_suricata(True, "debian:bookworm", bookworm, "riscv64", pinned)
    assert riscv.version == "" and riscv.line == (
        "suricata left out: debian:bookworm is Debian bookworm, whose backports carry no "
        "Suricata for riscv64 (Ubuntu's PPA is for Ubuntu)"
    )
    alpine = choose_suricata(True, "alpine:3", OsRelease("alpine", ""), "amd64", pinned)
    assert alpine.version == "" and alpine.line.startswith("suricata left out: alpine:3 is alpine")
    assert choose_suricata(False, "ubuntu:24.04", noble, "amd64", pinned) == SuricataChoice(
        "", "suricata left out (--suricata=false)"
    )
    versions = tree_versions({}, pins())
    assert "suricata left out (--suricata=false)" in versions.lines(
        "suricata left out (--suricata=false)"
    )
