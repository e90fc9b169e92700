"""Units a stack file writes (memory with Mi/Gi, CPUs as numbers, Go durations), parsed and formatted."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

from stack import canonical

_MEMORY = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>Mi|Gi)$")
_DURATION = re.compile(r"^-?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$|^-?\d+$")


def parse_memory(value: Any) -> int:
    """Turn "6Gi" or "512Mi" into MiB, the unit pulumi-docker's `memory` takes."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"memory needs a unit, like '512Mi' or '6Gi'; got {value!r}")
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"memory must be a number followed by Mi or Gi (e.g. '6Gi'); got {value!r}")
    mib = float(match["num"]) * (1024 if match["unit"] == "Gi" else 1)
    if mib < 4 or mib != int(mib):
        raise ValueError(f"memory must be a whole number of MiB, at least 4Mi; got {value!r}")
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


def check_duration(value: Any) -> str:
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError(f"must be a Go duration like '5m', '24h' or '-1' (forever); got {value!r}")
    return value


MiB = Annotated[int, BeforeValidator(parse_memory)]
Cpus = Annotated[float, BeforeValidator(parse_cpus)]
Duration = Annotated[str, BeforeValidator(check_duration)]


def format_memory(mib: int) -> str:
    """The inverse of the memory parser, for messages."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def format_cpus(cpus: float) -> str:
    """CPUs as pulumi-docker's `cpus` string: "2", "0.5"."""
    return f"{cpus:g}"
