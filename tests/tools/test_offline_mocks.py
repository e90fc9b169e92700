"""The offline evaluation registers plain inputs without the SDK mock's serializer round trip
(tools.offline `_register_plain`), and runs the mock monitor's calls in the event loop's thread
(`_inline_monitor_calls`): every registration, its outputs and the stack's outputs must be what
the SDK's own MockMonitor.RegisterResource, called from the SDK's executor threads, gives, on every
stack file the project ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

import tools.offline as offline
from tools.offline import ROOT, Evaluation, evaluate
from tools.wire import SECRET_SIG, SIG_KEY, UNKNOWN_STRING

DATA = ROOT / "tests" / "stack" / "data"
STACKS = [(s, ROOT) for s in ("dev", "prod")] + [
    (p.stem.removeprefix("Pulumi."), DATA) for p in DATA.glob("Pulumi.*.yaml")
]


def _seen(ev: Evaluation) -> list[tuple[Any, ...]]:
    # By URN: the order of registrations follows the program's awaits, not the monitor.
    return sorted(
        (
            r.urn,
            r.type,
            r.custom,
            json_format.MessageToDict(r.wire),
            json_format.MessageToDict(r.outputs_wire),
            r.inputs,
            r.outputs,
            sorted(r.dependencies),  # a set in the SDK: its order is not kept
            r.provider,
            r.protect,
        )
        for r in ev.resources
    )


@pytest.mark.parametrize(("stack", "root"), STACKS, ids=[s for s, _ in STACKS])
def test_the_same_registrations_as_the_sdk_mock(stack: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = evaluate(stack, root=root)
    monkeypatch.setattr(offline, "FAST_MOCK_REGISTRATION", False)
    sdk = evaluate(stack, root=root)
    assert len(fast.resources) == len(sdk.resources) > 20
    assert _seen(fast) == _seen(sdk)
    assert fast.outputs == sdk.outputs and fast.secret_outputs == sdk.secret_outputs


@pytest.mark.parametrize(("stack", "root"), STACKS, ids=[s for s, _ in STACKS])
def test_the_same_registrations_as_with_the_sdks_threads(
    stack: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = evaluate(stack, root=root)
    monkeypatch.setattr(offline, "INLINE_MONITOR_CALLS", False)
    threads = evaluate(stack, root=root)
    assert _seen(inline) == _seen(threads)
    assert inline.outputs == threads.outputs and inline.notes == threads.notes


def test_most_registrations_take_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Otherwise the comparison above would compare the SDK with itself.
    calls: list[str] = []
    real = offline._plain

    def counting(value: Any) -> bool:
        plain = real(value)
        calls.append("plain" if plain else "sdk")
        return plain

    monkeypatch.setattr(offline, "_plain", counting)
    evaluate("prod")
    assert calls.count("plain") > 0.8 * len(calls) > 40


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"a": "x", "n": 1.0, "b": True, "l": [1.0, {"k": "v"}], "e": {}}, True),
        ({"s": {SIG_KEY: SECRET_SIG, "value": "pw"}}, True),
        ({"a": None}, False),
        ({"l": [None]}, False),
        ({"a": UNKNOWN_STRING}, False),
        ({"r": {SIG_KEY: "5cf8f73096256a8f31e491e813e4eb8e", "urn": "u"}}, False),
        ({"s": {SIG_KEY: SECRET_SIG, "value": None}}, False),
        ({"l": [{"c": {SIG_KEY: SECRET_SIG, "value": "pw"}}]}, False),  # the SDK hoists it
    ],
)
def test_what_the_sdk_would_change_takes_its_path(value: dict[str, Any], plain: bool) -> None:
    assert offline._plain(value) is plain
