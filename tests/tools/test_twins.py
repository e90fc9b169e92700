"""The diff's base imports the working tree's bytecode for equal files, and its own source otherwise."""

from __future__ import annotations

import importlib.machinery
import py_compile
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.diff.twins import twin_bytecode

SAME = "VALUE = 1\n\n\ndef where() -> str:\n    return where.__code__.co_filename\n"


def _tree(root: Path, changed: str) -> Path:
    package = root / "twinprobe"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "same.py").write_text(SAME)
    (package / "changed.py").write_text(f"VALUE = {changed!r}\n")
    return root


def test_equal_files_load_the_twins_bytecode_and_changed_ones_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head, base = _tree(tmp_path / "head", "head"), _tree(tmp_path / "base", "base")
    for name in ("__init__.py", "same.py", "changed.py"):
        py_compile.compile(str(head / "twinprobe" / name), doraise=True)  # the working tree's cache
    compiled: list[str] = []
    original = importlib.machinery.SourceFileLoader.source_to_code

    def recording(self: Any, data: Any, path: Any, *, _optimize: int = -1) -> Any:
        compiled.append(str(path))
        return original(self, data, path)

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "source_to_code", recording)
    monkeypatch.syspath_prepend(str(base))
    try:
        with twin_bytecode(base, head):
            from twinprobe import changed, same  # type: ignore[import-not-found]
        assert changed.VALUE == "base"  # its own source, not the twin's
        assert same.VALUE == 1
        assert same.where() == str(base / "twinprobe" / "same.py")  # renamed to the base's file
        assert same.__file__ == str(base / "twinprobe" / "same.py")
        assert compiled == [str(base / "twinprobe" / "changed.py")]  # nothing else was compiled
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] == "twinprobe"]:
            del sys.modules[name]
    assert not any(str(base) in key for key in sys.path_importer_cache)
