"""`make backup`, `make restore` and `make lock` name the real cause when what they need is not there.

Oracles: the real docker CLI against an engine address where nothing listens, a PATH with no
docker at all, and a registry address where nothing listens (loopback only).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.stackfiles import copy_project, run_make


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("target", ["backup", "restore FROM=latest YES=1"])
def test_backup_and_restore_without_a_docker_cli_say_so(tmp_path: Path, target: str) -> None:
    project = copy_project(tmp_path / "ai-stack")
    done = run_make(project, *target.split(), "STACK=prod")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out
    assert "the docker CLI is not on PATH" in out and "PGPASSWORD" not in out


@pytest.mark.skipif(
    shutil.which("docker") is None and os.environ.get("CI") != "true",
    reason="no docker CLI (bootstrap dev installs it)",
)
@pytest.mark.parametrize("target", ["backup", "restore FROM=latest YES=1"])
def test_backup_and_restore_with_no_engine_say_so(tmp_path: Path, target: str) -> None:
    project = copy_project(tmp_path / "ai-stack")
    address = f"tcp://127.0.0.1:{_closed_port()}"
    done = run_make(project, *target.split(), "STACK=prod", env={"DOCKER_HOST": address}, tools=("docker",))
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out
    assert f"no Docker engine answers at {address}" in out and "PGPASSWORD" not in out


def test_lock_offline_says_it_needs_the_network_and_which_registry(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "ai-stack")
    registry = f"http://127.0.0.1:{_closed_port()}"
    before = (project / "models.lock.json").read_text()
    done = run_make(project, "lock", "STACK=dev", f"REGISTRY={registry}")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out and "urllib3" not in out
    assert "make lock needs the network" in out and f"its registry, {registry}, which it could not reach" in out
    assert "REGISTRY=" in out
    assert (project / "models.lock.json").read_text() == before, "nothing written"
