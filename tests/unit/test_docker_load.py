"""`antrea-ci build --load`: upstream's local names, one platform only (no engine)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from ci.cli import app
from ci.core.catalog import local_name, local_names
from ci.images.docker_load import DockerLoadError, load_image, loaded_reference

FIXTURE = Path(__file__).parents[1] / "fixtures/antrea-mini"
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def test_released_images_load_under_upstreams_local_names() -> None:
    assert local_name("antrea-agent-ubuntu") == "antrea/antrea-agent-ubuntu:latest"
    assert local_names() == {
        "agent": "antrea/antrea-agent-ubuntu:latest",
        "controller": "antrea/antrea-controller-ubuntu:latest",
        "flow_aggregator": "antrea/flow-aggregator:latest",
    }


def test_load_refuses_several_platforms_before_building(tmp_path: Path) -> None:
    output = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "build",
            "--source",
            str(FIXTURE),
            "--load",
            "--platform",
            "linux/amd64",
            "--platform",
            "linux/arm64",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 2
    assert "--platform" in result.output
    assert not output.exists()


def test_loaded_reference_is_the_id_or_name_docker_load_prints() -> None:
    assert loaded_reference("Loaded image ID: sha256:0123abcd\n") == "sha256:0123abcd"
    assert loaded_reference("Loaded image: antrea/x:latest\n") == "antrea/x:latest"
    assert loaded_reference("") == ""


def test_docker_failure_names_the_image_and_dockers_first_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\necho more >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DockerLoadError) as error:
        anyio.run(load_image, tmp_path / "agent.tar", "antrea/antrea-agent-ubuntu:latest")
    assert str(error.value) == (
        "cannot load antrea/antrea-agent-ubuntu:latest: docker load: "
        "Cannot connect to the Docker daemon"
    )


def test_missing_docker_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DockerLoadError, match="docker is not installed"):
        anyio.run(load_image, tmp_path / "agent.tar", "antrea/antrea-agent-ubuntu:latest")
