"""Keeps the raw Analyze request visible to validators, so they can tell secret from plaintext.

Why this exists: in ``Analyze`` pulumi-policy 1.x deserializes the request properties without
``proxy_secrets`` (only ``Remediate`` keeps them), so a validator sees a secret env value as
plain text with no marker. The engine does send the marker
(``{"4dabf1...": "1b4706...", "value": ...}``), so the pack wraps the Analyzer servicer the SDK
registers and records the request's raw properties in a thread-local for the duration of the call.
The SDK runs every validator synchronously in the gRPC handler thread, so the thread-local is the
request being validated.

The hook patches ``add_AnalyzerServicer_to_server`` in the generated gRPC module (the public
protocol, not a private SDK class). If a future SDK stops using it, ``raw_properties()`` returns
``None`` and the plaintext-secret rule fails closed with a message saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from google.protobuf import json_format

_local = threading.local()
_installed = False


def raw_properties() -> dict[str, Any] | None:
    """The raw properties (secret markers intact) of the Analyze request in flight, if captured."""
    return getattr(_local, "raw", None)


@contextmanager
def capturing(raw: dict[str, Any]) -> Iterator[None]:
    """Expose ``raw`` as the current request's properties for the duration of the block."""
    previous = getattr(_local, "raw", None)
    _local.raw = raw
    try:
        yield
    finally:
        _local.raw = previous


class _RawCapturingServicer:
    """Delegates every RPC to the SDK servicer; ``Analyze`` also publishes the raw properties."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def Analyze(self, request: Any, context: Any) -> Any:
        with capturing(json_format.MessageToDict(request.properties)):
            return self._inner.Analyze(request, context)


def install() -> None:
    """Wrap the Analyzer servicer before ``PolicyPack`` registers it. Call before building the pack."""
    global _installed
    if _installed:
        return
    from pulumi.runtime.proto import analyzer_pb2_grpc

    original: Callable[[Any, Any], None] = analyzer_pb2_grpc.add_AnalyzerServicer_to_server

    def add_wrapped(servicer: Any, server: Any) -> None:
        original(_RawCapturingServicer(servicer), server)

    analyzer_pb2_grpc.add_AnalyzerServicer_to_server = add_wrapped
    _installed = True
