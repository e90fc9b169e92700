"""Units a stack file writes (memory with Mi/Gi, CPUs as numbers, Go durations), parsed and formatted."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

from stack import canonical

_MEMORY = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>Mi|Gi)$")
_INTEGER = re.compile(r"^[-+]?[0-9]+$")

MIN_MEMORY = 6
"""MiB. Docker refuses a memory limit or reservation below 6 MB (moby v27.5.1
daemon/daemon_unix.go: linuxMinMemory = 6291456, "Minimum memory limit allowed is 6MB")."""


def parse_memory(value: Any) -> int:
    """Turn "6Gi" or "512Mi" into MiB, the unit pulumi-docker's `memory` takes."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"memory needs a unit, like '512Mi' or '6Gi'; got {value!r}")
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"memory must be a number followed by Mi or Gi (e.g. '6Gi'); got {value!r}")
    mib = float(match["num"]) * (1024 if match["unit"] == "Gi" else 1)
    if mib != int(mib):
        raise ValueError(f"memory must be a whole number of MiB; got {value!r}")
    if mib < MIN_MEMORY:
        raise ValueError(f"memory must be at least {MIN_MEMORY}Mi, Docker's minimum; got {value!r}")
    return int(mib)


def parse_cpus(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"cpus must be a number of CPUs such as 2 or 0.5; got {value!r}")
    try:
        cpus = float(value)
    except ValueError:
        raise ValueError(f"cpus must be a number of CPUs such as 2 or 0.5; got {value!r}") from None
    if not 0.01 <= cpus <= 1024:
        raise ValueError(f"cpus must be between 0.01 and 1024; got {value!r}")
    cpus = round(cpus, 3)
    if not canonical.cpus_round_trip(cpus):
        # The provider reads NanoCPUs back through nanoInt64ToDecimalString, which rounds
        # these to one decimal: every `up` would then replace the container.
        raise ValueError(
            f"cpus {value!r} cannot be kept exactly by the Docker provider (it reads it back as "
            f"{canonical.cpus(cpus)}): use a multiple of 0.1 or a value like 0.25"
        )
    return cpus


def _text(value: Any) -> str:
    """A YAML number (`keepAlive: -1`, `period: 10`) arrives as a number: read it as its text."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"must be a duration such as '5m' or '24h'; got {value!r}")
    return str(value).strip()


MAX_TIMEOUT = 8760 * 3600
"""Seconds: a year. Longer waits overflow Go's Duration once the create margin is added."""


def check_timeout(value: Any) -> str:
    """A Go duration of at least one second: how long `pulumi up` waits (a zero or negative
    wait fails at once; the provider's wait_timeout counts whole seconds)."""
    text = _text(value)
    try:
        nanos = canonical.parse_duration(text)
    except canonical.DurationError as err:
        hint = f" (a bare number has no unit: write '{text}s' or '{text}m')" if _INTEGER.match(text) else ""
        raise ValueError(f"must be a Go duration such as '2h' or '90m'{hint}: {err}") from None
    if nanos < canonical.NANO:
        raise ValueError(f"must be at least 1s (a zero or negative wait fails at once); got {value!r}")
    if nanos > MAX_TIMEOUT * canonical.NANO:
        raise ValueError(f"must be at most {MAX_TIMEOUT // 3600}h; got {value!r}")
    return text


def check_keep_alive(value: Any) -> str:
    """OLLAMA_KEEP_ALIVE as Ollama reads it (envconfig/config.go KeepAlive, v0.32.15): a Go
    duration, else whole seconds; negative keeps models loaded forever, 0 unloads at once.
    Anything else Ollama silently replaces with 5m, so it is refused here."""
    text = _text(value)
    if _INTEGER.match(text):
        return text
    try:
        canonical.parse_duration(text)
    except canonical.DurationError as err:
        raise ValueError(
            f"must be a Go duration such as '5m' or '24h', or seconds such as -1 (forever) or 0: {err}"
        ) from None
    return text


def check_period(value: Any) -> str:
    """Traefik's ptypes.Duration (traefik/paerser types/duration.go Set): whole seconds or a Go
    duration; a negative period is refused by the ratelimit middleware (traefik
    pkg/middlewares/ratelimiter/rate_limiter.go: "negative value not valid for period")."""
    text = _text(value)
    try:
        nanos = int(text) * canonical.NANO if _INTEGER.match(text) else canonical.parse_duration(text)
    except canonical.DurationError as err:
        raise ValueError(f"must be a Go duration such as '1s' or '1m', or whole seconds: {err}") from None
    if nanos < 0:
        raise ValueError(f"must not be negative (Traefik refuses the middleware); got {value!r}")
    return text


MiB = Annotated[int, BeforeValidator(parse_memory)]
Cpus = Annotated[float, BeforeValidator(parse_cpus)]
Timeout = Annotated[str, BeforeValidator(check_timeout)]
KeepAlive = Annotated[str, BeforeValidator(check_keep_alive)]
Period = Annotated[str, BeforeValidator(check_period)]


def seconds(timeout: str) -> int:
    """A validated Timeout in whole seconds (as the provider's wait_timeout takes it)."""
    return canonical.parse_duration(timeout) // canonical.NANO


def format_memory(mib: int) -> str:
    """The inverse of the memory parser, for messages."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def format_cpus(cpus: float) -> str:
    """CPUs as pulumi-docker's `cpus` string: "2", "0.5"."""
    return f"{cpus:g}"
