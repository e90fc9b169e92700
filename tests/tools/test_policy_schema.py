"""tools.analyzer.schema against the reference implementation, python-jsonschema's Draft7Validator:
the same messages for every schema of the pack and a set of instances built to break each one."""

from __future__ import annotations

import itertools
from typing import Any

import jsonschema
import pytest

from tools.analyzer import PolicyPackAnalyzer
from tools.analyzer.schema import errors, supported
from tools.offline import ROOT

# Values of every JSON type, and the edges the keywords look at (bool vs int, 1.0 vs 1).
SCALARS: list[Any] = [None, True, False, 0, 1, -1, 1.0, 2.5, -0.5, 1e9, "", "x", "advisory", "mandatory", [], {}]


def reference(instance: Any, schema: dict[str, Any]) -> list[str]:
    return sorted(e.message for e in jsonschema.Draft7Validator(schema).iter_errors(instance))


@pytest.fixture(scope="module")
def pack_schemas() -> list[tuple[str, dict[str, Any]]]:
    """Each policy's config schema as the CLI builds it from the pack's GetAnalyzerInfo (the level
    added, `required` kept): what `reconcile_config` validates."""
    with PolicyPackAnalyzer(ROOT / "policies", stack="prod") as pack:
        info = pack.get_analyzer_info()
    out = []
    for p in info.policies:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                **p.config_schema,
                "enforcementLevel": {"type": "string", "enum": ["advisory", "mandatory"]},
            },
        }
        if p.required:
            schema["required"] = list(p.required)
        out.append((p.name, schema))
    return out


def _instances(schema: dict[str, Any]) -> list[Any]:
    """Objects that set each property to each scalar, lists of them, a nested object, an extra key."""
    props = schema.get("properties", {})
    found: list[Any] = [{}, {"notAKnob": 1}, *SCALARS]
    for name, sub in props.items():
        found += [{name: v} for v in SCALARS]
        found += [{name: [v]} for v in SCALARS] + [{name: [v, w]} for v, w in itertools.combinations(SCALARS[:8], 2)]
        found.append({name: {"a": 1, "b": ["x"]}})
        if "default" in sub:
            found.append({name: sub["default"]})
    return found


def test_every_pack_schema_is_validated_here_not_handed_on(pack_schemas: list[tuple[str, dict[str, Any]]]) -> None:
    assert pack_schemas and all(supported(schema) for _, schema in pack_schemas)


def test_the_same_messages_as_jsonschema_for_every_pack_schema(pack_schemas: list[tuple[str, dict[str, Any]]]) -> None:
    checked = failing = 0
    for name, schema in pack_schemas:
        for instance in _instances(schema):
            expected = reference(instance, schema)
            assert sorted(errors(instance, schema)) == expected, (name, instance)
            checked += 1
            failing += bool(expected)
    assert failing > 1000 and checked - failing > 100  # the instances break and keep the schemas


@pytest.mark.parametrize(
    "schema",
    [
        {"type": ["integer", "string"]},
        {"type": "number", "minimum": 0, "exclusiveMinimum": 1},
        {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "integer"}}},
        {"type": "object", "properties": {"a": {"enum": [1, "1", True, None, [1], {"k": 1}]}}, "required": ["a", "b"]},
        {"type": "object", "additionalProperties": False, "properties": {"a": True, "b": False}},
        {"items": False},
    ],
)
def test_the_same_messages_as_jsonschema_for_each_keyword(schema: dict[str, Any]) -> None:
    assert supported(schema)
    nested = [{"a": v, "b": w, "c": v} for v, w in itertools.product(SCALARS, [1, "1"])]
    for instance in [*SCALARS, *nested, [*SCALARS], [{"x": 1.5}, {"y": "z"}], {"a": [1], "k": {"k": 1}}]:
        assert sorted(errors(instance, schema)) == reference(instance, schema), instance


@pytest.mark.parametrize(
    "schema",
    [{"type": "string", "pattern": "^a"}, {"$ref": "#/definitions/x", "definitions": {"x": {}}}, {"type": "nope"}],
)
def test_a_keyword_not_validated_here_goes_to_jsonschema(schema: dict[str, Any]) -> None:
    assert not supported(schema)
    if schema.get("type") == "nope":
        with pytest.raises(jsonschema.exceptions.UnknownType):
            errors(1, schema)
    else:
        assert errors("b", schema) == reference("b", schema)
