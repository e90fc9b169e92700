"""Pydantic's errors in the words of a stack file: the user's own key, never a class name."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from stack.settings.services import describe_pattern

NAMESPACE = "ai-stack"

EXAMPLES: dict[str, str] = {
    "host": "{cpus: 8, memory: 16Gi}",
    "gpu": "{driver: nvidia, count: all}",
    "retention": "{keepDaily: 7, keepWeekly: 4}",
    "rateLimit": "{average: 50, burst: 200, period: 1s}",
    "providers": "{modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}",
}
"""How a block looks, for "must be a mapping" messages; every other block gets `{cpus: 2, …}`."""


def where(path: Sequence[str | int]) -> str:
    """`ai-stack:ollama.gpu.count`, `ai-stack:providers[0].model`: the key as the user writes it."""
    if not path:
        return ""
    head, *rest = path
    out = f"{NAMESPACE}:{head}"
    for part in rest:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _unwrap(annotation: Any) -> list[Any]:
    """The types inside Optional/Union/list/Annotated, outermost first."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    return [annotation]


def model_at(root: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The settings block at `path` (aliases, list indexes and the keys of a map such as
    `inferenceHosts.gpu-2`), or None when it is a value."""
    model: type[BaseModel] | None = root
    keyed = False
    for part in path:
        if model is None:
            return None
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        keyed = typing.get_origin(field.annotation) is dict
        model = next((t for t in _unwrap(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)), None)
    return model


def keys_of(model: type[BaseModel]) -> list[str]:
    return sorted(f.alias or n for n, f in model.model_fields.items())


def closest(key: str, known: Sequence[str]) -> str | None:
    """A likely intended key: a typo (`memroy`), another case (`Memory`) or snake case (`keep_alive`)."""
    folded = {re.sub(r"[^a-z0-9]", "", k.lower()): k for k in known}
    if (hit := folded.get(re.sub(r"[^a-z0-9]", "", key.lower()))) is not None:
        return hit
    match = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return match[0] if match else None


def _got(value: Any) -> str:
    return f"; got {value!r}" if not isinstance(value, (dict, list)) else ""


def _block_example(path: Sequence[str | int]) -> str:
    name = next((p for p in reversed(path) if isinstance(p, str)), "")
    return EXAMPLES.get(name, "{cpus: 2, memory: 4Gi}")


def phrase(e: ErrorDetails, path: Sequence[str | int], root: type[BaseModel]) -> str:
    """One error as `must be …; got …`, with no pydantic vocabulary."""
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        parent = model_at(root, path[:-1])
        hint = closest(str(path[-1]), keys_of(parent)) if parent is not None else None
        return f"unknown setting (did you mean {where([*path[:-1], hint])}?)" if hint else "unknown setting"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}{_got(value)}"
    if kind == "string_pattern_mismatch":
        return f"{describe_pattern(str(ctx.get('pattern')))}{_got(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number{_got(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number{_got(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, unquoted{_got(value)}"
    if kind in ("string_type", "str_type"):
        return f"must be text{_got(value)}"
    bounds = {"greater_than_equal": "at least", "less_than_equal": "at most", "greater_than": "above"}
    if kind in bounds or kind == "less_than":
        limit = next(iter(ctx.values()), "?")
        return f"must be {bounds.get(kind, 'below')} {limit}{_got(value)}"
    if kind in ("too_short", "too_long"):
        return (
            f"must list at {'least' if kind == 'too_short' else 'most'} {ctx.get('min_length', ctx.get('max_length'))}"
        )
    if kind == "list_type":
        return f"must be a list, such as [a, b]{_got(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping such as {_block_example(path)}{_got(value)}"
    if kind == "value_error":
        return str(e["msg"]).removeprefix("Value error, ")
    # Anything else: pydantic's sentence without its class names.
    text = re.sub(r"\binstance of \w+", "mapping", str(e["msg"]).replace("Input should be", "must be"))
    return text + _got(value)


def merge(fragments: list[str]) -> str:
    """Several union members refusing one value (`2` is not 'all' and not …): one sentence."""
    unique = list(dict.fromkeys(fragments))
    musts = [f for f in unique if f.startswith("must be ")]
    if len(musts) < 2:
        return "; ".join(unique)
    got = next((m.split("; got ", 1)[1] for m in musts if "; got " in m), None)
    options = [m.removeprefix("must be ").split("; got ", 1)[0] for m in musts]
    rest = [f for f in unique if f not in musts]
    return "; ".join([f"must be {' or '.join(options)}" + (f"; got {got}" if got else ""), *rest])
