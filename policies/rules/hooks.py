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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from . import secretness

_installed = False


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
        with secretness.capturing(json_format.MessageToDict(request.properties)):
            return findings_only(self._inner.Analyze(request, context))

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
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
    _installed = True
