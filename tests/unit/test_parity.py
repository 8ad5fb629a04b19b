"""Images compared file by file (ci.core.parity), on tarballs written here (no engine)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from ci.core.parity import (
    Allowed,
    Difference,
    compare,
    differences,
    package_versions,
    read_image,
    report,
)
from tests.support.go_binaries import binary
from tests.support.tarballs import write_tarball

STATUS = (
    "Package: iptables\nStatus: install ok installed\nVersion: 1.8.9-2\n\n"
    "Package: openvswitch-switch\nStatus: hold ok installed\nVersion: 3.7.1-1\n\n"
    "Package: openvswitch-doc\nStatus: hold ok not-installed\n\n"
    "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n"
)


def layer(entries: list[tuple[str, str, bytes]], mode: int = 0o644) -> bytes:
    """A gzipped layer tarball: (path, kind, data) with kind dir, file, symlink or hardlink
    (data the target for links)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, kind, data in entries:
            member = tarfile.TarInfo(path)
            member.mtime = 1  # times are never compared
            if kind == "dir":
                member.type, member.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(member)
            elif kind == "file":
                member.size, member.mode = len(data), mode
                archive.addfile(member, io.BytesIO(data))
            else:
                member.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                member.linkname = data.decode()
                archive.addfile(member)
    return gzip.compress(buffer.getvalue(), mtime=0)


def oci_tarball(path: Path, layers: list[bytes], config: dict[str, object]) -> Path:
    """An OCI-layout tarball of one image (as antrea-ci exports)."""
    blobs: dict[str, bytes] = {}

    def add(data: bytes) -> dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    config_blob = add(json.dumps({"config": config}).encode())
    manifest = {"config": config_blob, "layers": [add(data) for data in layers]}
    index = {"manifests": [add(json.dumps(manifest).encode())]}
    files = {"index.json": json.dumps(index).encode()}
    files.update((f"blobs/{d.replace(':', '/')}", b) for d, b in blobs.items())
    return write_tarball(path, files)


def docker_tarball(path: Path, layers: list[bytes], config: dict[str, object]) -> Path:
    """A `docker save` archive of one image (as upstream's route leaves in Docker)."""
    files = {"config.json": json.dumps({"config": config}).encode()}
    for number, data in enumerate(layers):
        files[f"{number}/layer.tar"] = gzip.decompress(data)
    files["manifest.json"] = json.dumps(
        [{"Config": "config.json", "Layers": [f"{n}/layer.tar" for n in range(len(layers))]}]
    ).encode()
    return write_tarball(path, files)


BASE = layer(
    [
        ("etc", "dir", b""),
        ("etc/os-release", "file", b"debian 12\n"),
        ("var/lib/dpkg", "dir", b""),
        ("var/lib/dpkg/status", "file", STATUS.encode()),
        ("opt/cni/bin", "dir", b""),
        ("opt/cni/bin/old", "file", b"old plugin"),
        ("usr/sbin/iptables", "symlink", b"xtables-nft-multi"),
    ]
)
CONFIG: dict[str, object] = {
    "Entrypoint": None,
    "Cmd": ["/bin/bash"],
    "Env": ["PATH=/usr/bin", "A=1"],
    "Labels": {"maintainer": "Antrea"},
}


def agent(tmp_path: Path, name: str, plugin: bytes, env: list[str], docker: bool = False) -> Path:
    """An agent-like image: the base, then a layer that removes a plugin and adds others."""
    top = layer(agent_top(plugin))
    config = {**CONFIG, "Env": env}
    write = docker_tarball if docker else oci_tarball
    return write(tmp_path / f"{name}.tar", [BASE, top], config)


def test_layers_merge_with_their_whiteouts_and_hardlinks_read_as_their_target(
    tmp_path: Path,
) -> None:
    image = read_image(agent(tmp_path, "a", b"plugin v1", ["PATH=/usr/bin", "A=1"]))
    assert "opt/cni/bin/old" not in image.files
    assert image.files["opt/cni/bin/loopback"] == image.files["opt/cni/bin/host-local"]
    assert image.files["usr/sbin/iptables"].content == "xtables-nft-multi"
    assert image.packages() == {"iptables": "1.8.9-2", "openvswitch-switch": "3.7.1-1"}
    assert image.config["Env"] == {"PATH": "/usr/bin", "A": "1"}


def test_an_opaque_directory_hides_what_was_below_it(tmp_path: Path) -> None:
    top = layer([("opt/cni/bin/.wh..wh..opq", "file", b""), ("opt/cni/bin/new", "file", b"n")])
    image = read_image(oci_tarball(tmp_path / "o.tar", [BASE, top], CONFIG))
    assert [p for p in image.files if p.startswith("opt/cni/bin/")] == ["opt/cni/bin/new"]


def test_the_same_image_in_both_formats_has_no_difference(tmp_path: Path) -> None:
    env = ["A=1", "PATH=/usr/bin"]  # ENV order is no difference
    ours = read_image(agent(tmp_path, "ours", b"plugin v1", ["PATH=/usr/bin", "A=1"]))
    theirs = read_image(agent(tmp_path, "theirs", b"plugin v1", env, docker=True))
    assert differences(ours, theirs) == []
    assert compare(ours, theirs, []).same


def test_each_kind_of_difference_is_found_and_only_an_allow_list_entry_explains_it(
    tmp_path: Path,
) -> None:
    ours = read_image(agent(tmp_path, "ours", b"plugin v2", ["PATH=/usr/bin", "A=2"]))
    extra = layer([("usr/bin/suricata", "file", b"ids")])
    theirs_tarball = docker_tarball(
        tmp_path / "theirs.tar",
        [BASE, layer(agent_top(b"plugin v1")), extra],
        {**CONFIG, "User": "root"},
    )
    theirs = read_image(theirs_tarball)
    found = {(d.what, d.path) for d in differences(ours, theirs)}
    assert found == {
        ("differs", "opt/cni/bin/host-local"),
        ("differs", "opt/cni/bin/loopback"),
        ("only-theirs", "usr/bin/suricata"),
        ("config", "Env.A"),
        ("config", "User"),
    }
    allowed = [
        Allowed("differs", "opt/cni/bin/*", "CNI plugins compiled, not downloaded"),
        Allowed("only-theirs", "usr/bin/suricata", "no Suricata on the test bed"),
    ]
    comparison = compare(ours, theirs, allowed)
    assert not comparison.same
    assert {(d.what, d.path) for d in comparison.unexplained} == {
        ("config", "Env.A"),
        ("config", "User"),
    }
    text = report("antrea-agent linux/amd64", comparison, package_versions(ours, theirs))
    assert "**2 unexplained differences**" in text and "| `opt/cni/bin/*` | 2 |" in text
    assert "| iptables | 1.8.9-2 | 1.8.9-2 |" in text


def agent_top(plugin: bytes) -> list[tuple[str, str, bytes]]:
    """The agent-like layer: a plugin removed, one added, one hard-linked to it."""
    return [
        ("opt/cni/bin/.wh.old", "file", b""),
        ("opt/cni/bin/host-local", "file", plugin),
        ("opt/cni/bin/loopback", "hardlink", b"opt/cni/bin/host-local"),
    ]


def test_a_tarball_of_neither_format_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(ValueError, match="neither an OCI layout nor a docker save archive"):
        read_image(empty)


def test_installed_packages_are_compared_by_version(tmp_path: Path) -> None:
    newer = STATUS.replace("Version: 1.8.9-2", "Version: 1.8.10-1").encode()
    other = layer([("var/lib/dpkg/status", "file", newer)])
    ours = read_image(oci_tarball(tmp_path / "ours.tar", [BASE], CONFIG))
    theirs = read_image(oci_tarball(tmp_path / "theirs.tar", [BASE, other], CONFIG))
    found = differences(ours, theirs)
    assert [(d.what, d.path) for d in found] == [
        ("differs", "var/lib/dpkg/status"),
        ("package", "iptables"),
    ]
    assert found[1] == Difference("package", "iptables", "1.8.9-2", "1.8.10-1")


def test_the_report_shows_each_go_binary_s_build(tmp_path: Path) -> None:
    def plugin(go: str, version: str) -> bytes:
        module = "path\tgithub.com/containernetworking/plugins/plugins/ipam/host-local\n"
        return binary(go, module + f"mod\tgithub.com/containernetworking/plugins\t{version}\t\n")

    ours = read_image(agent(tmp_path, "ours", plugin("go1.26.8", "v1.9.1"), ["A=1"]))
    theirs = read_image(agent(tmp_path, "theirs", plugin("go1.25.3", "(devel)"), ["A=1"], True))
    versions = package_versions(ours, theirs)
    text = report("antrea-agent linux/amd64", compare(ours, theirs, []), versions)
    assert (
        "| CNI plugins (host-local) | go1.26.8 github.com/containernetworking/plugins v1.9.1 "
        "| go1.25.3 github.com/containernetworking/plugins (devel) |"
    ) in text
    assert "antrea-agent |" not in text  # not in either image: no row


def test_a_go_binary_of_another_module_version_is_a_difference(tmp_path: Path) -> None:
    def plugin(version: str) -> bytes:
        return binary("go1.26.8", f"mod\tgithub.com/containernetworking/plugins\t{version}\t\n")

    ours = read_image(agent(tmp_path, "ours", plugin("v1.9.0"), ["A=1"]))
    theirs = read_image(agent(tmp_path, "theirs", plugin("v1.9.1"), ["A=1"], True))
    bytes_only = Allowed("differs", "opt/cni/bin/*", "same version, other bytes")
    comparison = compare(ours, theirs, [bytes_only])
    assert [(d.what, d.path, d.ours, d.theirs) for d in comparison.unexplained] == [
        (
            "version",
            "opt/cni/bin/host-local",
            "github.com/containernetworking/plugins v1.9.0",
            "github.com/containernetworking/plugins v1.9.1",
        )
    ]
    same = read_image(agent(tmp_path, "same", plugin("v1.9.1"), ["A=1"]))
    assert compare(same, theirs, [bytes_only]).same
