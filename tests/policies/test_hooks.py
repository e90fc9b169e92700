"""The pack's hooks into pulumi-policy: what they replace exists in the pinned SDK, each request's
properties are converted and deserialized once, the SDK never changes the conversion it is handed,
and no rule changes the properties every policy of a request shares."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy import deserialize
from pulumi_policy import policy as sdk_policy

from policies.rules import hooks
from policies.rules.props import owned, plain
from tools.offline import ROOT, evaluate

DATA = ROOT / "tests" / "stack" / "data"


def test_the_pinned_sdk_converts_and_proxies_through_the_names_install_replaces() -> None:
    # Replacing a name the SDK no longer calls would change nothing: check the calls are there.
    for handler in (sdk_policy._PolicyAnalyzerServicer.Analyze, sdk_policy._PolicyAnalyzerServicer.AnalyzeStack):
        source = inspect.getsource(handler)
        assert "deserialize_properties(json_format.MessageToDict(" in source
        assert "unknown_checking_proxy(deserialized)" in source
    assert all(hasattr(sdk_policy, name) for name in hooks.SDK_NAMES)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def test_a_request_converts_each_message_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = json_format.MessageToDict

    def counting(message: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(message)
        return real(message, *args, **kwargs)

    monkeypatch.setattr(json_format, "MessageToDict", counting)  # the module hooks calls
    first, second = _struct({"name": "a", "ports": [{"internal": 80}]}), _struct({"name": "b"})
    with hooks._Request():
        got = [hooks.message_to_dict(m) for m in (first, first, second, first)]
    assert len(calls) == 2 and got[0] is got[1] is got[3] and got[2] == {"name": "b"}
    assert got[0] == {"name": "a", "ports": [{"internal": 80.0}]}
    # Outside a request (and for any call with options) every call converts.
    hooks.message_to_dict(first)
    hooks.message_to_dict(first, preserving_proto_field_name=True)
    assert len(calls) == 4


def _containers(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _containers(v)
    elif isinstance(value, list):
        yield value
        for v in value:
            yield from _containers(v)


@pytest.mark.parametrize("stack", ["prod", "cluster"])
def test_the_sdk_copies_what_it_is_handed_and_changes_none_of_it(stack: str) -> None:
    """Why one conversion can serve every policy (the SDK builds each policy's copy from it) and why
    each policy may keep its copy as it is (`owned`): on every resource of a real stack, secrets
    included."""
    ev = evaluate(stack, root=DATA if stack == "cluster" else ROOT)  # cluster: the two-host example
    for r in ev.resources:
        handed = json_format.MessageToDict(r.wire)
        before = copy.deepcopy(handed)
        copies = [deserialize.deserialize_properties(handed) for _ in range(2)]
        assert handed == before, r.urn
        shared = {id(c) for c in _containers(handed)}
        for got in copies:
            assert not shared & {id(c) for c in _containers(got)}, r.urn
        assert not {id(c) for c in _containers(copies[0])} & {id(c) for c in _containers(copies[1])}
        assert owned(copies[0]) is copies[0] and plain(copies[0]) == copies[0]


def _as_the_sdk_hands_it(props: dict[str, Any]) -> Any:
    """Wire JSON as a policy receives it: the SDK's deserialization of the converted message."""
    return deserialize.deserialize_properties(json_format.MessageToDict(_struct(props)))


def _resource_inputs() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(type, name, urn, wire inputs) of every resource of the example stacks, and of the prod
    baseline changed by every mutation case (the paths that report, not only the quiet ones)."""
    from tests.policies.cases import CASES
    from tests.policies.fixtures import Baseline

    evs = [evaluate(s, root=ROOT) for s in ("dev", "prod")] + [
        evaluate(s, root=DATA) for s in ("cluster", "amd", "sso")
    ]
    for ev in evs:
        for r in ev.resources:
            if r.custom:
                yield r.type, r.name, r.urn, r.wire_json
    baseline = Baseline(evs[1])
    for case in CASES:
        if not case.stack:
            r = baseline.registered(case.target)
            yield r.type, r.name, r.urn, baseline.props(case.target, **case.changes)


def test_no_rule_changes_the_properties_every_policy_shares() -> None:
    """Why every policy of a request may get one deserialization (`deserialize_once`)."""
    from policies.rules.base import Context
    from policies.rules.catalog import RESOURCE_RULES, STACK_RULES
    from policies.rules.props import container_name
    from policies.rules.stackbase import StackResource

    by_stack: dict[str, list[StackResource]] = {}
    checked = 0
    for type_, name, urn, wire in _resource_inputs():
        data = _as_the_sdk_hands_it(wire)
        before = copy.deepcopy(data)
        ctx = Context(name=container_name(data, name), resource_name=name, urn=urn, resource_type=type_)
        for rule in RESOURCE_RULES:
            rule.run_plain(data, {}, ctx)
            assert data == before, f"{rule.name} changed the properties of {urn}"
            checked += 1
        by_stack.setdefault(urn.split("::")[0], []).append(StackResource(type_, name, urn, data))
    assert checked > 5000
    for resources in by_stack.values():
        before_all = copy.deepcopy([r.props for r in resources])
        for stack_rule in STACK_RULES:
            stack_rule.run(resources, {})
            assert [r.props for r in resources] == before_all, f"{stack_rule.name} changed a resource's properties"
