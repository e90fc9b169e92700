"""Field validation that reports every bad value and still yields the settings the rest can check.

A bad value is reported, then dropped so its default stands in, and validation runs again: the
whole-stack checks can then run on every block that is not broken, and a check that reads a
broken key is skipped (`failed`), so one mistake never hides another, nor makes up a second.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from stack.settings.messages import merge, phrase, where
from stack.settings.model import Settings

Path = tuple[str | int, ...]

PLACEHOLDERS: dict[str, Any] = {
    "host": {"cpus": 1, "memory": "1Gi"},
    "models": ["placeholder"],
}
"""Stand-ins for required settings that are broken: only checks that do not read them run."""


@dataclass
class Fields:
    settings: Settings | None
    problems: list[str] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    """Dotted keys (`ollama.memory`, `providers`) whose values were refused."""


def dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path if not isinstance(p, int))


def related(a: str, b: str) -> bool:
    """One key is the other or inside it (`ollama` and `ollama.gpu.count`)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _present(data: Any, loc: Sequence[Any]) -> Path:
    """The part of pydantic's `loc` that names keys in the data (it adds union members such as
    `int` or `literal['all']`, and function-validator names, which are not keys)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            break
        node = node[part]
        out.append(part)
    return tuple(out)


def _drop(data: dict[str, Any], path: Path) -> bool:
    """Remove the value at `path`; a list item goes with its whole list (indexes stay the user's).
    False when there was nothing to remove."""
    cut = next((i for i, p in enumerate(path) if isinstance(p, int)), len(path))
    path = path[:cut]
    node: Any = data
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict) and node.pop(path[-1], _ABSENT) is not _ABSENT


_ABSENT = object()


def _where_reported(data: dict[str, Any], loc: Sequence[Any], kind: str) -> Path:
    path = _present(data, loc)
    if kind == "missing" and len(loc) > len(path) and isinstance(loc[len(path)], str):
        path = (*path, loc[len(path)])
    return path


def validate_fields(values: dict[str, Any]) -> Fields:
    data = copy.deepcopy(values)
    out = Fields(settings=None)
    for attempt in range(12):
        try:
            out.settings = Settings.model_validate(data)
            return out
        except ValidationError as err:
            found: dict[Path, list[str]] = {}
            missing: set[Path] = set()
            for e in err.errors():
                path = _where_reported(data, e["loc"], e["type"])
                found.setdefault(path, []).append(phrase(e, tuple(e["loc"]), Settings))
                if e["type"] == "missing":
                    missing.add(path)
            progressed = False
            for path, fragments in found.items():
                key = dotted(path)
                # A later pass only repeats (missing once dropped) or reacts to a dropped value.
                if attempt == 0 or not any(related(key, f) for f in out.failed):
                    out.problems.append(f"{where(path)}: {merge(fragments)}" if path else merge(fragments))
                out.failed.add(key)
                target = path[:-1] if path in missing else path
                if (len(target) == 1 and str(target[0]) in PLACEHOLDERS) or (path in missing and len(path) == 1):
                    name = str(path[0])
                    if name in PLACEHOLDERS and data.get(name) != PLACEHOLDERS[name]:
                        data[name] = copy.deepcopy(PLACEHOLDERS[name])
                        progressed = True
                    continue
                progressed = _drop(data, target) or progressed
            if not progressed:
                return out
    return out
