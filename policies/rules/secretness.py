"""Keeps the raw Analyze request visible to validators, so they can tell secret from plaintext.

Why this exists: in ``Analyze`` pulumi-policy 1.x deserializes the request properties without
``proxy_secrets`` (only ``Remediate`` keeps them), so a validator sees a secret env value as
plain text with no marker. The engine does send the marker
(``{"4dabf1...": "1b4706...", "value": ...}``), so the pack wraps the Analyzer servicer the SDK
registers and records the request's raw properties in a thread-local for the duration of the call.
The SDK runs every validator synchronously in the gRPC handler thread, so the thread-local is the
request being validated.

The wrapper lives in ``hooks`` (which also trims the SDK's message prefix). If a future SDK stops
registering its servicer through the generated gRPC module, ``raw_properties()`` returns ``None``
and the plaintext-secret rule fails closed with a message saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_local = threading.local()


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
