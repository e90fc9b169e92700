"""The two sides of a diff: the program at a git ref, and the working tree, both under mocks.

The base is taken out of git (`tools.diff.gitbase`) and evaluated with the SDKs this process
has imported already. Two copies of the `stack` package cannot share `sys.modules`:
`isolated()` swaps the program's packages out while the other tree is evaluated and puts
them back afterwards, so the caller's own `stack` modules are untouched.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.diff.gitbase import BaseTree, DiffError
from tools.diff.twins import twin_bytecode
from tools.offline import ROOT, Evaluation, evaluate

PROGRAM_PACKAGES = ("stack", "policies")
"""Top-level packages of the program; `tools` stays the caller's (it only drives the evaluation)."""


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


def evaluate_base(base: BaseTree) -> Evaluation | None:
    """The stack as committed at the base ref; None when the stack file does not exist there yet."""
    tree = base.path()
    return None if tree is None else evaluate_tree(base.stack, tree, base.repo)


__all__ = ["BaseTree", "DiffError", "evaluate_base", "evaluate_tree", "isolated"]
