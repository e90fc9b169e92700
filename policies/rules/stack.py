"""Stack-wide rule: host capacity (overcommit), each Docker host on its own."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .lifecycle import uses_gpu
from .limits import cpu_limit, memory_limit
from .props import (
    CONTAINER,
    as_dict,
    as_list,
    as_number,
    container_name,
    is_run_once,
)
from .stackbase import StackResource, StackRule


def _gpu_count(props: dict[str, Any], host_gpus: int) -> int:
    """GPUs a container asks for; ``-1``/``all`` means every host GPU."""
    total = 0
    for req in as_list(props.get("deviceRequests")):
        req = as_dict(req)
        ids = as_list(req.get("deviceIds"))
        count = as_number(req.get("count"))
        if ids:
            total += len(ids)
        elif count is None or count < 0:
            total += host_gpus
        else:
            total += int(count)
    gpus = props.get("gpus")
    if isinstance(gpus, str) and gpus:
        total += host_gpus if gpus == "all" else 1
    return total


def _host_capacity(host: str, cfg: dict[str, Any]) -> dict[str, Any] | None:
    """The capacity knobs of one host: the top-level ones for the main host, `hosts.<name>` for an
    inference host (None when the config does not declare it)."""
    if not host:
        return cfg
    declared = as_dict(cfg.get("hosts")).get(host)
    return as_dict(declared) if isinstance(declared, dict) else None


def check_capacity(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Each host's containers against that host alone: capacity is never summed across hosts."""
    by_host: dict[str, list[StackResource]] = {}
    for res in resources:
        if res.resource_type == CONTAINER:
            by_host.setdefault(res.host, []).append(res)
    out: list[tuple[str, str | None]] = []
    for host in sorted(by_host):
        capacity = _host_capacity(host, cfg)
        if capacity is None:
            out += [
                (
                    f"container '{container_name(r.props, r.name)}' runs on host '{host}', whose capacity the policy "
                    "config does not declare, so it cannot be checked. Fix: add the host under `hosts` (make "
                    "pack-config does, from ai-stack:inferenceHosts).",
                    r.urn,
                )
                for r in by_host[host]
            ]
            continue
        out += _check_host(by_host[host], capacity, cfg, f"host '{host}': " if host else "")
    return out


def _check_host(
    resources: list[StackResource], capacity: dict[str, Any], cfg: dict[str, Any], where: str
) -> list[tuple[str, str | None]]:
    headroom = as_number(cfg.get("headroom")) or 1.0
    host_mb = as_number(capacity.get("hostMemoryMb"))
    host_cpus = as_number(capacity.get("hostCpus"))
    host_gpus = int(as_number(capacity.get("hostGpus")) or 0)
    count_run_once = cfg.get("countRunOnce", True)
    out: list[tuple[str, str | None]] = []
    total_mb = total_cpus = 0.0
    unbounded_mb: list[str] = []
    unbounded_cpu: list[str] = []
    for res in resources:
        props = res.props
        if is_run_once(props) and not count_run_once:
            continue
        name = container_name(props, res.name)
        memory, cpus = memory_limit(props), cpu_limit(props)
        if memory is None:
            unbounded_mb.append(name)
            out.append(
                (
                    (
                        f"container '{name}' has no literal memory limit, so the stack's memory is unbounded. "
                        "Fix: set `memory` (MB)."
                    ),
                    res.urn,
                )
            )
        else:
            total_mb += memory
        if cpus is None:
            unbounded_cpu.append(name)
            if memory is not None:
                out.append(
                    (
                        (
                            f"container '{name}' has no literal CPU limit, so the stack's CPU is unbounded. "
                            "Fix: set `cpus`."
                        ),
                        res.urn,
                    )
                )
        else:
            total_cpus += cpus
        if uses_gpu(props):
            requested = _gpu_count(props, host_gpus)
            if host_gpus <= 0 or requested > host_gpus:
                asked = f"{requested} GPU(s)" if requested else "GPUs"
                out.append(
                    (
                        (
                            f"container '{name}' requests {asked} but the host has {host_gpus}. "
                            "Fix: remove the GPU request for this stack or set hostGpus."
                        ),
                        res.urn,
                    )
                )
    if host_mb is not None and not unbounded_mb and total_mb > host_mb * headroom:
        out.append(
            (
                (
                    f"{where}containers reserve {total_mb:g} MB of memory limits, above the host's {host_mb:g} MB x "
                    f"headroom {headroom:g} = {host_mb * headroom:g} MB. Fix: lower per-container `memory` in stack "
                    "config."
                ),
                None,
            )
        )
    if host_cpus is not None and not unbounded_cpu and total_cpus > host_cpus * headroom:
        out.append(
            (
                (
                    f"{where}containers sum to {total_cpus:g} CPUs of limits, above the host's {host_cpus:g} CPUs x "
                    f"headroom {headroom:g} = {host_cpus * headroom:g}. Fix: lower per-container `cpus` in stack "
                    "config."
                ),
                None,
            )
        )
    return out


HOST_CAPACITY = {
    "hostMemoryMb": {"type": "number", "minimum": 1, "description": "Memory of the Docker host in MB."},
    "hostCpus": {"type": "number", "minimum": 1, "description": "CPUs of the Docker host."},
    "hostGpus": {"type": "integer", "minimum": 0, "default": 0, "description": "GPUs on the Docker host."},
}


STACK_RULES: list[StackRule] = [
    StackRule(
        name="stack-host-capacity",
        description="On each Docker host, the sum of its containers' memory and CPU limits fits that host's capacity.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_capacity,
        config={
            **HOST_CAPACITY,
            "hosts": {
                "type": "object",
                "additionalProperties": {"type": "object", "properties": HOST_CAPACITY, "additionalProperties": False},
                "default": {},
                "description": (
                    "Each other Docker host's capacity, by the name of its provider (the stack's "
                    "ai-stack:inferenceHosts keys); the top-level knobs are the main host's."
                ),
            },
            "headroom": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 1.0,
                "description": "Fraction of host capacity the limits may add up to (1.0 = all of it).",
            },
            "countRunOnce": {
                "type": "boolean",
                "default": True,
                "description": "Count run-once containers (attach, mustRun false) in the totals.",
            },
        },
    ),
]
