"""`make up`'s first step, run for real: it stops and names what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.stackfiles import copy_project
from tools.offline import ROOT

TOOLS = ("make", "bash", "sh", "env", "cat", "cut", "sha256sum", "touch", "dirname", "id")


def run_make(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make` with a PATH that has the shell tools but no pulumi and no docker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    # The interpreter itself, not a version-manager shim that needs more of PATH.
    (bin_dir / "python3").symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "DOCKER_"))}
    env["PATH"] = str(bin_dir)
    return subprocess.run(
        ["make", "-s", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_up_names_everything_that_is_missing(tmp_path: Path) -> None:
    done = run_make(tmp_path, "prereqs", "STACK=prod")
    assert done.returncode != 0
    assert "missing: the Pulumi CLI is not on PATH" in done.stderr
    assert "missing: the docker CLI is not on PATH" in done.stderr
    assert "missing: PULUMI_CONFIG_PASSPHRASE" in done.stderr


def test_up_refuses_an_unknown_stack(tmp_path: Path) -> None:
    done = run_make(tmp_path, "prereqs", "STACK=staging")
    assert done.returncode != 0
    assert "missing: Pulumi.staging.yaml does not exist: stacks here are dev and prod" in done.stderr


def test_bootstrap_says_which_python_is_wrong() -> None:
    def bootstrap(python: str) -> str:
        env = {**os.environ, "PYTHON": python}
        done = subprocess.run(
            ["bash", "scripts/bootstrap.sh", "runtime"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1
        return done.stderr

    assert "python9 not found: install Python 3.11 or newer" in bootstrap("python9")
    assert "false is on PATH but does not run" in bootstrap("false")


def test_test_fast_installs_nothing_of_the_integration_tier(tmp_path: Path) -> None:
    """`make test-fast` (bootstrap fast) asks for no Debian package and builds no Open WebUI venv,
    even as root on a machine that has none of the tier's tools."""
    project = copy_project(tmp_path / "ai-stack")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for fake in ("apt-get", "npm", "dpkg-query"):
        (bin_dir / fake).write_text(f'#!/bin/sh\necho "{fake} $*" >>"{calls}"\nexit 1\n')
        (bin_dir / fake).chmod(0o755)
    for tool in ("bash", "cat", "cut", "sha256sum", "touch", "dirname", "id", "mkdir", "tr", "grep", "ls", "rm"):
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    cache = tmp_path / "cache"
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run(
        ["bash", "scripts/bootstrap.sh", "fast"], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    recorded = calls.read_text() if calls.exists() else ""
    assert "apt-get" not in recorded and "dpkg-query" not in recorded, recorded
    assert not list(cache.glob("ai-stack/venvs/*")), "no Open WebUI venv"
    assert "docker.io" not in done.stdout + done.stderr and "chromium" not in done.stdout + done.stderr
