"""Skipping the export of an unchanged image (no engine)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ci.export_stamp import ImageIdentity, forget, record, stamp_path, unchanged

AGENT = ImageIdentity(
    platform="linux/arm64",
    rootfs_digest="sha256:" + "1" * 64,
    entrypoint=[],
    default_args=["/bin/bash"],
    env=["PATH=/usr/bin"],
    labels={"org.opencontainers.image.version": "v2.7.0"},
    workdir="/",
    user="",
)


def test_an_exported_tarball_of_the_same_image_is_unchanged(tmp_path: Path) -> None:
    tarball = tmp_path / "antrea-agent-ubuntu-linux-arm64.tar"
    assert not unchanged(tarball, AGENT)
    tarball.write_bytes(b"oci layout")
    assert not unchanged(tarball, AGENT)
    record(tarball, AGENT)
    assert stamp_path(tarball).name == "antrea-agent-ubuntu-linux-arm64.tar.stamp"
    assert unchanged(tarball, AGENT)


def test_any_change_of_the_image_or_the_tarball_means_export_again(tmp_path: Path) -> None:
    tarball = tmp_path / "agent.tar"
    tarball.write_bytes(b"oci layout")
    record(tarball, AGENT)
    for changed in (
        replace(AGENT, rootfs_digest="sha256:" + "2" * 64),
        replace(AGENT, labels={"org.opencontainers.image.version": "v2.7.1"}),
        replace(AGENT, env=["PATH=/usr/sbin"]),
        replace(AGENT, platform="linux/amd64"),
    ):
        assert not unchanged(tarball, changed)
    tarball.write_bytes(b"oci layout, truncated by hand")
    assert not unchanged(tarball, AGENT)
    forget(tarball)
    assert not stamp_path(tarball).exists()
