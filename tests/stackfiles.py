"""Stack-file text for tests (a valid laptop stack with keys laid over it), and the project copied
the way a user has it, to run its make targets as the user does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

BASE = {"ai-stack:host": {"cpus": 8, "memory": "16Gi"}, "ai-stack:models": ["llama3.2:1b"]}


def overlay(fragment: str, *, drop: tuple[str, ...] = ()) -> str:
    """`fragment` is stack-file YAML (`config:` …); its keys replace the base's keys."""
    config = {k: v for k, v in BASE.items() if k not in drop}
    config.update((yaml.safe_load(fragment) or {}).get("config") or {})
    text: str = yaml.safe_dump({"config": config}, sort_keys=True)
    return text


# --- the project as a user has it, for running its make targets -------------------------------

TOOLS = ("make", "bash", "sh", "env", "cat", "cut", "sha256sum", "touch", "dirname", "id", "mkdir", "rm", "tr")


def copy_project(dest: Path) -> Path:
    """The tracked tree as it is in this worktree (edits included) and its .venv, linked: what a
    user who cloned the repository and ran `make` once has."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        src = ROOT / raw.decode()
        if not src.is_file():
            continue
        target = dest / raw.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def make_path(bin_dir: Path) -> str:
    """A PATH with the shell tools make and bootstrap use, and no pulumi and no docker."""
    bin_dir.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    if not (bin_dir / "python3").exists():
        # The interpreter itself, not a version-manager shim that needs more of PATH.
        (bin_dir / "python3").symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    return str(bin_dir)


def run_make(
    project: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None, tools: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`make -s ARGS` in `project`, with PATH as `make_path` plus `tools` (e.g. "docker"), and `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "DOCKER_", "MAKE"))}
    base.pop("STACK", None)
    bin_dir = project.parent / f"{project.name}-bin"
    base["PATH"] = make_path(bin_dir)
    for tool in tools:
        found = shutil.which(tool)
        assert found, f"{tool} is not installed here"
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    env = {**base, **(env or {})}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
