"""Skipping the export of an unchanged image (no engine)."""

from __future__ import annotations

from pathlib import Path

from ci.core.export_stamp import forget, record, stamp_path, unchanged

AGENT = "sha256:" + "1" * 64


def test_an_exported_tarball_of_the_same_recipe_is_unchanged(tmp_path: Path) -> None:
    tarball = tmp_path / "antrea-agent-ubuntu-linux-arm64.tar"
    assert not unchanged(tarball, AGENT)
    tarball.write_bytes(b"oci layout")
    assert not unchanged(tarball, AGENT)
    record(tarball, AGENT)
    assert stamp_path(tarball).name == "antrea-agent-ubuntu-linux-arm64.tar.stamp"
    assert unchanged(tarball, AGENT)


def test_another_recipe_or_a_changed_tarball_means_export_again(tmp_path: Path) -> None:
    tarball = tmp_path / "agent.tar"
    tarball.write_bytes(b"oci layout")
    record(tarball, AGENT)
    assert not unchanged(tarball, "sha256:" + "2" * 64)
    tarball.write_bytes(b"oci layout, truncated by hand")
    assert not unchanged(tarball, AGENT)
    forget(tarball)
    assert not stamp_path(tarball).exists()
