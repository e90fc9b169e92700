"""The base of a diff taken out of git: the program and stack file of a ref, in a temporary directory.

Standard library only, so `python -m tools.diff` starts it first: git runs as child processes
while the SDKs are imported.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path

# Everything the program reads at a ref: its code, the pinning rule it shares with the pack, and
# the model lock its settings check against (a ref without one yields an empty lock).
PROGRAM_PATHS = ("__main__.py", "stack", "policies/__init__.py", "policies/rules", "models.lock.json")


class DiffError(Exception):
    """The diff could not be computed (unknown ref, not a git repository)."""


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


def commit_of(repo: Path, ref: str) -> str:
    if ref.startswith("-") or not ref.strip():
        raise DiffError(f"{ref!r} is not a git ref")  # never let a ref be read as an option
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise DiffError(f"{ref!r} is not a commit in {repo} (fetch it first, e.g. `git fetch origin {ref}`)")
    return done.stdout.decode().strip()


def has_stack_file(repo: Path, commit: str, stack: str) -> bool:
    return _git(repo, "cat-file", "-e", f"{commit}:Pulumi.{stack}.yaml").returncode == 0


class BaseTree:
    """The program and stack file of `ref`, taken out of git in a thread while the head evaluates.

    `git` runs as child processes, so the thread mostly waits and the import of the SDKs and
    the head's evaluation go on meanwhile. Use as a context manager; `path()` waits for it.
    """

    def __init__(self, repo: Path, ref: str, stack: str) -> None:
        self.repo, self.ref, self.stack = repo, ref, stack
        self._tmp = tempfile.TemporaryDirectory(prefix="ai-stack-base-")
        self._found: bool = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._fetch, daemon=True)

    def __enter__(self) -> BaseTree:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.join()
        self._tmp.cleanup()

    def _fetch(self) -> None:
        try:
            commit = commit_of(self.repo, self.ref)
            if not has_stack_file(self.repo, commit, self.stack):
                return
            listed = _git(
                self.repo, "ls-tree", "--name-only", commit, "--", *PROGRAM_PATHS, f"Pulumi.{self.stack}.yaml"
            )
            archive = _git(self.repo, "archive", "--format=tar", commit, "--", *listed.stdout.decode().split())
            if archive.returncode != 0:
                raise DiffError(f"git archive {commit}: {archive.stderr.decode().strip()}")
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(self._tmp.name, filter="data")
            self._found = True
        except BaseException as err:  # noqa: BLE001 - raised again in the caller's thread by path()
            self._error = err

    def path(self) -> Path | None:
        """The extracted tree; None when the stack file does not exist at `ref`."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return Path(self._tmp.name) if self._found else None
