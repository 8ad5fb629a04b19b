"""Go's build information read from binaries (ci.core.go_buildinfo): a header laid out as
Go lays it, and the host's own Go toolchain binary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ci.core.go_buildinfo import MAGIC, read_build_info
from tests.support.go_binaries import binary

MODINFO = (
    "path\tantrea.io/antrea/cmd/antrea-agent\n"
    "mod\tantrea.io/antrea\t(devel)\t\n"
    "dep\tgithub.com/spf13/cobra\tv1.10.1\th1:abc=\n"
    "build\tGOARCH=arm64\n"
    'build\t-ldflags="-s -w"\n'
    "build\tvcs.revision=0123456789abcdef\n"
    "build\tvcs.modified=true\n"
)


def test_the_header_s_strings_are_read() -> None:
    info = read_build_info(binary("go1.26.8", MODINFO))
    assert info is not None
    assert (info.go, info.path, info.module, info.version) == (
        "go1.26.8",
        "antrea.io/antrea/cmd/antrea-agent",
        "antrea.io/antrea",
        "(devel)",
    )
    assert info.deps == {"github.com/spf13/cobra": "v1.10.1"}
    assert info.settings["GOARCH"] == "arm64"
    assert info.settings["-ldflags"] == "-s -w"
    assert info.describe() == "go1.26.8 antrea.io/antrea (devel) 0123456789ab+dirty"


def test_a_magic_string_that_is_no_header_is_passed_over() -> None:
    decoy = MAGIC + b" quoted in a program's data"  # not 16-byte aligned, no strings
    data = b"\x00" * 3 + decoy + binary("go1.25.1", MODINFO, at=128)[3 + len(decoy) :]
    info = read_build_info(data)
    assert info is not None and info.go == "go1.25.1"


def test_no_build_information_is_none() -> None:
    assert read_build_info(b"\x7fELF" + bytes(100)) is None
    assert read_build_info(binary("go1.17", MODINFO, flags=0)) is None  # pre-1.18 layout
    assert read_build_info(binary("go1.26.8", MODINFO)[:90]) is None  # cut short


@pytest.mark.host_tools
def test_the_host_s_go_binary_reads_as_go_version_prints_it() -> None:
    go = shutil.which("go")
    assert go, "no Go toolchain on PATH (the test bed's tools need one too)"
    printed = subprocess.run([go, "version", "-m", go], capture_output=True, text=True).stdout
    info = read_build_info(Path(go).read_bytes())
    assert info is not None
    assert printed.startswith(f"{go}: {info.go}\n")
    assert f"\tpath\t{info.path}\n" in printed and info.path == "cmd/go"
    for key, value in info.settings.items():
        assert f"\tbuild\t{key}={value}" in printed or f'{key}="{value}"' in printed
