"""A temporary git repository holding this program, for the offline diff's tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tools.offline import ROOT

PROGRAM = (
    "__main__.py",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.prod.yaml",
    "models.lock.json",
    "stack",
    "policies/__init__.py",
    "policies/rules",
)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def committed(repo: Path) -> Path:
    """`repo` with this program copied in and committed on `main`."""
    ignore = shutil.ignore_patterns("__pycache__", "venv", ".venv")
    for name in PROGRAM:
        src, dst = ROOT / name, repo / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst, ignore=ignore) if src.is_dir() else shutil.copy(src, dst)
    (repo / ".gitignore").write_text("__pycache__/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return repo


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def lock_like(repo: Path, model: str, like: str) -> None:
    """Lock `model` with the numbers of an already locked one, as `make lock` would have."""
    path = repo / "models.lock.json"
    doc = json.loads(path.read_text())
    doc["models"][model] = dict(doc["models"][like])
    path.write_text(json.dumps(doc, indent=2) + "\n")
