"""Wraps the Analyzer servicer the SDK registers: raw properties in, findings-only messages out.

- ``Analyze`` publishes the request's raw properties (secret markers intact) for the duration of
  the call, see ``secretness``.
- Every diagnostic's message is the finding alone. pulumi-policy 1.21.0 (policy.py,
  ``_create_report_violation``) sends ``description + "\\n" + message`` as the message and the
  description again in its own ``description`` field, so every violation of a rule opened with the
  same sentence. The description stays in the diagnostic's ``description`` field and in the
  pack's policy metadata (GetAnalyzerInfo); the wrapper cuts only that exact prefix.

The hook patches ``add_AnalyzerServicer_to_server`` in the generated gRPC module (the public
protocol, not a private SDK class).

Two more changes make the pack judge a stack in a fraction of the time, with the same findings
(`make check` runs it on every PR; the CLI runs the same file):

- Each request's properties are converted and deserialized once. pulumi-policy 1.21.0
  (policy.py, ``Analyze`` and ``AnalyzeStack``) does both again for every policy
  (``json_format.MessageToDict``, the pure-Python printer, then ``deserialize_properties``): 27
  resource policies times each resource, and every stack policy times every resource. Within a
  request every policy now gets the first result; rules read their properties and never change
  them (tests/policies/test_hooks.py runs every rule on every resource of the example stacks and
  checks it left them as they were).
- No unknown-checking proxies. The SDK wraps each policy's properties in proxies (proxy.py
  ``unknown_checking_proxy``) that raise ``UnknownValueError`` on an unknown value. No rule here
  reads through them: every rule works on plain data (``props.plain``) and decides itself what an
  unknown means, so the proxies were built to be copied back. Each policy now gets the plain
  properties as they are.

These replace names the SDK's policy module looks up when it runs (``json_format``,
``deserialize_properties``, ``unknown_checking_proxy``); an SDK without them is left alone
(slower, same findings), and tests/policies/test_hooks.py checks the pinned one has them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from . import secretness

_installed = False
SDK_NAMES = ("json_format", "deserialize_properties", "unknown_checking_proxy")
"""The names in pulumi-policy's policy module replaced by ``install`` (see the module docstring)."""
_converted = threading.local()
"""This thread's request: its properties messages, converted, by id (None outside a request).
The SDK runs a request's policies in the gRPC handler thread that received it."""


def _once(kind: str, source: Any, compute: Callable[[], Any]) -> Any:
    """`compute()` for `source`, once per request in this thread (every call outside a request)."""
    cache: dict[int, tuple[Any, Any]] | None = getattr(_converted, kind, None)
    if cache is None:
        return compute()
    hit = cache.get(id(source))
    if hit is None or hit[0] is not source:  # `source` is kept alive, so its id is its own
        hit = cache[id(source)] = (source, compute())
    return hit[1]


def message_to_dict(message: Any, *args: Any, **kwargs: Any) -> Any:
    """``json_format.MessageToDict``, converting each message once per request (see above)."""
    if args or kwargs:
        return json_format.MessageToDict(message, *args, **kwargs)
    return _once("cache", message, lambda: json_format.MessageToDict(message))


def deserialize_once(props: Any, proxy_secrets: bool = False) -> Any:
    """``deserialize_properties``, once per converted message per request (see above)."""
    from pulumi_policy.deserialize import deserialize_properties

    if proxy_secrets:
        return deserialize_properties(props, proxy_secrets)
    return _once("deserialized", props, lambda: deserialize_properties(props))


class _JsonFormat:
    """``json_format`` as the SDK's policy module sees it: the converter above, the rest as is."""

    MessageToDict = staticmethod(message_to_dict)

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)


def plain_properties(props: dict[str, Any]) -> dict[str, Any]:
    """The SDK's ``unknown_checking_proxy`` here: the plain properties, unwrapped (see above)."""
    return props


class _Request:
    """Converted properties are kept for the duration of one request in this thread."""

    def __enter__(self) -> None:
        _converted.cache, _converted.deserialized = {}, {}

    def __exit__(self, *exc: object) -> None:
        _converted.cache = _converted.deserialized = None


def findings_only(response: Any) -> Any:
    """``response`` with each diagnostic's leading ``description`` line removed from its message."""
    for diagnostic in response.diagnostics:
        prefix = diagnostic.description + "\n"
        if diagnostic.description and diagnostic.message.startswith(prefix):
            diagnostic.message = diagnostic.message[len(prefix) :]
    return response


class _PackServicer:
    """Delegates every RPC to the SDK servicer, with the two changes the module docstring names."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def Analyze(self, request: Any, context: Any) -> Any:
        with _Request(), secretness.capturing(message_to_dict(request.properties)):
            return findings_only(self._inner.Analyze(request, context))

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        with _Request():
            return findings_only(self._inner.AnalyzeStack(request, context))


def install() -> None:
    """Wrap the Analyzer servicer before ``PolicyPack`` registers it. Call before building the pack."""
    global _installed
    if _installed:
        return
    from pulumi.runtime.proto import analyzer_pb2_grpc

    original: Callable[[Any, Any], None] = analyzer_pb2_grpc.add_AnalyzerServicer_to_server

    def add_wrapped(servicer: Any, server: Any) -> None:
        original(_PackServicer(servicer), server)

    analyzer_pb2_grpc.add_AnalyzerServicer_to_server = add_wrapped
    from pulumi_policy import policy as sdk_policy

    if all(hasattr(sdk_policy, name) for name in SDK_NAMES):
        setattr(sdk_policy, "json_format", _JsonFormat())  # noqa: B010 - a name the SDK imports
        setattr(sdk_policy, "deserialize_properties", deserialize_once)  # noqa: B010
        setattr(sdk_policy, "unknown_checking_proxy", plain_properties)  # noqa: B010
    _installed = True
