"""Say in one line that the tooling runs in the project's .venv, instead of an import traceback.

Standard library only: it runs under whatever `python3` the user typed.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:  # a dotted name whose parent package is missing
        return True


def missing(modules: Sequence[str]) -> list[str]:
    return [m for m in modules if _absent(m)]


def require(command: str, modules: Sequence[str]) -> None:
    """Exit 2 with one line when any of `modules` cannot be imported by this interpreter."""
    absent = missing(modules)
    if absent:
        print(
            f"{command}: this Python ({sys.executable}) lacks {', '.join(absent)}; "
            f"run `make check` (which sets up .venv) or `.venv/bin/python -m {command}`",
            file=sys.stderr,
        )
        sys.exit(2)
