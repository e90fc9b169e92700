"""Import a tree's modules with the working tree's bytecode wherever the two sources are equal.

The base of a diff is a fresh copy out of git, with no `__pycache__`: compiling its whole
`stack` package again costs more than evaluating it. Most of its files are byte for byte the
working tree's, whose bytecode Python has already compiled and cached (its own `.pyc`, checked
against its own source as any import checks it). A file that differs is compiled from its own
source, as before.
"""

from __future__ import annotations

import importlib.machinery
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.abc import PathEntryFinder
from pathlib import Path
from types import CodeType


def relocated(code: CodeType, filename: str) -> CodeType:
    """`code` and every code object inside it, naming `filename` (tracebacks point at the tree)."""
    consts = tuple(relocated(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _loader(tree: Path, twins: Path) -> type[importlib.machinery.SourceFileLoader]:
    class TwinLoader(importlib.machinery.SourceFileLoader):
        def get_code(self, fullname: str) -> CodeType | None:
            own = Path(self.path)
            twin = twins / own.relative_to(tree)
            try:
                same = twin.is_file() and twin.read_bytes() == own.read_bytes()
            except OSError:
                same = False
            if same:
                code = importlib.machinery.SourceFileLoader(fullname, str(twin)).get_code(fullname)
                if code is not None:
                    return relocated(code, self.path)
            return super().get_code(fullname)

    return TwinLoader


@contextmanager
def twin_bytecode(tree: Path, twins: Path) -> Iterator[None]:
    """Within the block, modules found under `tree` load through `twins`' bytecode where equal."""
    tree = tree.resolve()
    loader = (_loader(tree, twins.resolve()), importlib.machinery.SOURCE_SUFFIXES)
    finder = importlib.machinery.FileFinder.path_hook(loader)

    def hook(path: str) -> PathEntryFinder:
        if not Path(path).resolve().is_relative_to(tree):
            raise ImportError(path)  # not ours: the next hook finds it
        return finder(path)

    sys.path_hooks.insert(0, hook)
    try:
        yield
    finally:
        sys.path_hooks.remove(hook)
        for path in [p for p in sys.path_importer_cache if Path(p).resolve().is_relative_to(tree)]:
            del sys.path_importer_cache[path]
