"""JSON Schema (draft 7) validation of a policy's config, for the keywords policy schemas use.

The CLI validates each policy's config against the schema the pack declares before `Configure`
(pkg/resource/analyzer/config.go, `validatePolicyPackConfig`). The python-jsonschema package
does it too, but it brings attrs, referencing, rpds and every draft's metaschema with it: the
slowest import of the offline gate, which runs on every PR. Policy config schemas use a handful
of keywords, so this validates those as jsonschema 4.26.0's `Draft7Validator` does
(jsonschema/_keywords.py, _legacy_keywords.py `items_draft6_draft7_draft201909`, _types.py
`draft7_type_checker`), with its messages; a schema with any other keyword is handed to
jsonschema itself, so nothing is validated less. tests/tools/test_policy_schema.py compares the
two on every schema of the pack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TYPES = frozenset({"object", "array", "string", "boolean", "null", "integer", "number"})
ANNOTATIONS = frozenset({"description", "default", "title", "examples", "$comment"})
KEYWORDS = frozenset(
    {"type", "enum", "minimum", "exclusiveMinimum", "items", "properties", "additionalProperties", "required"}
)


def supported(schema: Any) -> bool:
    """True when every keyword in `schema`, at any depth, is one this module validates."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or not set(schema) <= KEYWORDS | ANNOTATIONS:
        return False
    types = schema.get("type", [])
    if not set(types if isinstance(types, list) else [types]) <= TYPES:
        return False
    if not isinstance(schema.get("enum", []), list) or not isinstance(schema.get("required", []), list):
        return False
    if any(not _is_type(schema.get(k, 0), "number") for k in ("minimum", "exclusiveMinimum")):
        return False
    items, more = schema.get("items", True), schema.get("additionalProperties", True)
    return (
        (isinstance(items, (bool, dict)) and supported(items))  # an items array: jsonschema's
        and supported(more)
        and all(supported(s) for s in (schema.get("properties") or {}).values())
        and isinstance(schema.get("properties", {}), dict)
    )


def _is_type(instance: Any, name: str) -> bool:
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if isinstance(instance, bool):  # bool is an int in Python, never in JSON Schema
        return False
    if name == "integer":  # draft 6 on: 1.0 is an integer
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    if name == "number":
        return isinstance(instance, (int, float))
    raise KeyError(name)  # an unknown type name: jsonschema raises UnknownType


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's `equal`: True and 1 differ, at any depth."""
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    return bool(one == two)


def _errors(instance: Any, schema: Any) -> Iterator[str]:
    if schema is True:
        return
    if schema is False:
        yield f"False schema does not allow {instance!r}"
        return
    for keyword, value in schema.items():
        if keyword == "type":
            types = value if isinstance(value, list) else [value]
            if not any(_is_type(instance, t) for t in types):
                yield f"{instance!r} is not of type {', '.join(repr(t) for t in types)}"
        elif keyword == "enum":
            if all(not _equal(each, instance) for each in value):
                yield f"{instance!r} is not one of {value!r}"
        elif keyword == "minimum":
            if _is_type(instance, "number") and instance < value:
                yield f"{instance!r} is less than the minimum of {value!r}"
        elif keyword == "exclusiveMinimum":
            if _is_type(instance, "number") and instance <= value:
                yield f"{instance!r} is less than or equal to the minimum of {value!r}"
        elif keyword == "items":
            if isinstance(instance, list):
                for item in instance:
                    yield from _errors(item, value)
        elif keyword == "properties":
            if isinstance(instance, dict):
                for name, sub in value.items():
                    if name in instance:
                        yield from _errors(instance[name], sub)
        elif keyword == "additionalProperties":
            if isinstance(instance, dict):
                extras = [k for k in instance if k not in schema.get("properties", {})]
                if isinstance(value, dict):
                    for extra in extras:
                        yield from _errors(instance[extra], value)
                elif not value and extras:
                    listed = ", ".join(repr(e) for e in sorted(extras, key=str))
                    verb = "was" if len(extras) == 1 else "were"
                    yield f"Additional properties are not allowed ({listed} {verb} unexpected)"
        elif keyword == "required" and isinstance(instance, dict):
            yield from (f"{name!r} is a required property" for name in value if name not in instance)


def errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every violation of `schema` by `instance`, in jsonschema's words (Draft 7)."""
    if supported(schema):
        return list(_errors(instance, schema))
    import jsonschema  # a keyword this module does not know: the reference implementation

    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(instance)]
