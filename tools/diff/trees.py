"""The two sides of a diff: the program at a git ref, and the working tree, both under mocks.

The base is taken out of git with `git archive` (only the program: `stack/`, the `policies/`
it imports, and the stack file) into a temporary directory and evaluated in this process, so
the SDKs are imported once. Two copies of the `stack` package cannot share `sys.modules`:
`isolated()` swaps the program's packages out while the other tree is evaluated and puts
them back afterwards, so the caller's own `stack` modules are untouched.
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.diff.twins import twin_bytecode
from tools.offline import ROOT, Evaluation, evaluate

PROGRAM_PACKAGES = ("stack", "policies")
"""Top-level packages of the program; `tools` stays the caller's (it only drives the evaluation)."""
# Everything the program reads at a ref: its code, the pinning rule it shares with the pack, and
# the model lock its settings check against (a ref without one yields an empty lock).
PROGRAM_PATHS = ("__main__.py", "stack", "policies/__init__.py", "policies/rules", "models.lock.json")


class DiffError(Exception):
    """The diff could not be computed (unknown ref, not a git repository)."""


def _ours(module: str) -> bool:
    return module.split(".", 1)[0] in PROGRAM_PACKAGES


@contextmanager
def isolated(tree: Path) -> Iterator[None]:
    """Import the program's packages from `tree` inside the block, and restore the caller's after."""
    saved = {name: mod for name, mod in sys.modules.items() if _ours(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    importlib.invalidate_caches()
    # No __pycache__ in a checkout; and a file edited within the same second at the same size
    # would otherwise be run from its stale bytecode.
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        yield
    finally:
        sys.dont_write_bytecode = writes
        for name in [n for n in sys.modules if _ours(n)]:
            del sys.modules[name]
        sys.path.remove(str(tree))
        sys.modules.update(saved)


def evaluate_tree(stack: str, tree: Path, twins: Path = ROOT) -> Evaluation:
    """Evaluate `stack` with the program and stack file found in `tree` (its modules loaded with
    the bytecode of `twins`, the working tree, wherever their sources are the same)."""
    if tree.resolve() == ROOT:
        return evaluate(stack, root=ROOT)
    with isolated(tree), twin_bytecode(tree, twins):
        # The tree's own entry point: its program may be laid out differently from ours.
        return evaluate(stack, root=tree, entry=tree / "__main__.py")


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


def evaluate_base(base: BaseTree) -> Evaluation | None:
    """The stack as committed at the base ref; None when the stack file does not exist there yet."""
    tree = base.path()
    return None if tree is None else evaluate_tree(base.stack, tree, base.repo)
