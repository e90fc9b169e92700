"""Resource limits: every container has a literal memory and CPU limit, within the maximums."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Kics, Rule
from .props import as_dict, as_number, is_unknown


def cpu_limit(props: dict[str, Any]) -> float | None:
    """CPUs a container may use: ``cpus``, else ``cpuQuota / cpuPeriod``; ``None`` if unlimited."""
    cpus = as_number(props.get("cpus"))
    if cpus is not None and cpus > 0:
        return cpus
    quota = as_number(props.get("cpuQuota"))
    if quota is not None and quota > 0:
        period = as_number(props.get("cpuPeriod")) or 100000.0
        return quota / period
    return None


def memory_limit(props: dict[str, Any]) -> float | None:
    """The memory limit in MB, or ``None`` when unlimited or not literal."""
    memory = as_number(props.get("memory"))
    return memory if memory is not None and memory > 0 else None


def check_limits(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    name = ctx.name
    out: list[str] = []
    if is_unknown(props.get("memory")):
        out.append(
            f"container '{name}': memory limit is computed at deploy time; limits must be literal "
            "so they can be reviewed. Fix: set `memory` (MB) from stack config."
        )
    elif memory_limit(props) is None:
        out.append(f"container '{name}' has no memory limit. Fix: set `memory` (MB) > 0 and `memorySwap` equal to it.")
    cpu_values = [props.get(k) for k in ("cpus", "cpuQuota", "cpuPeriod")]
    if cpu_limit(props) is None:
        if any(is_unknown(v) for v in cpu_values):
            out.append(
                f"container '{name}': CPU limit is computed at deploy time; limits must be literal. "
                'Fix: set `cpus` (e.g. "1.5") from stack config.'
            )
        else:
            out.append(f"container '{name}' has no CPU limit. Fix: set `cpus` (e.g. \"2\") or `cpuQuota`.")
    maximums = as_dict(cfg.get("containerMaximums")).get(name) or {}
    max_mb = as_number(maximums.get("memoryMb", cfg.get("maxMemoryMb")))
    max_cpus = as_number(maximums.get("cpus", cfg.get("maxCpus")))
    memory, cpus = memory_limit(props), cpu_limit(props)
    if max_mb is not None and memory is not None and memory > max_mb:
        out.append(f"container '{name}': memory {memory:g} MB exceeds the maximum {max_mb:g} MB. Fix: lower `memory`.")
    if max_cpus is not None and cpus is not None and cpus > max_cpus:
        out.append(f"container '{name}': {cpus:g} CPUs exceeds the maximum {max_cpus:g}. Fix: lower `cpus`.")
    return out


RESOURCE_LIMITS = Rule(
    name="container-resource-limits",
    description="Every container has a literal memory limit and a CPU limit.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_limits,
    config={
        "maxMemoryMb": {
            "type": "number",
            "minimum": 0,
            "description": "Largest memory limit any container may set.",
        },
        "maxCpus": {
            "type": "number",
            "minimum": 0,
            "description": "Largest CPU limit any container may set.",
        },
        "containerMaximums": {
            "type": "object",
            "default": {},
            "description": "Per-container maximums: {name: {memoryMb, cpus}}.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "memoryMb": {"type": "number"},
                    "cpus": {"type": "number"},
                },
                "additionalProperties": False,
            },
        },
    },
    kics=(Kics("bb9ac4f7", "Memory Not Limited"), Kics("6b610c50", "Cpus Not Limited")),
    cis=("5.11", "5.12"),
)

RULES: list[Rule] = [RESOURCE_LIMITS]
