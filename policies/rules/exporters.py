"""Exporters: host access only for the named exporter containers, which stay off the edge.

node-exporter reads the host's /proc, /sys and / (read-only); a GPU exporter holds the GPUs.
`container-no-sensitive-mounts` (its `exporterHostPaths`), `container-gpu-allow-list` and
`container-no-host-devices` allow that access by container name only; this stack rule adds what
only the whole stack shows: such a container publishes nothing and shares no network with a
routed container or the router, so nothing from the edge is one hop from the host.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import ROUTERS
from .exposure import _containers, _networks, _routed
from .lifecycle import uses_gpu
from .mounts import host_mounts
from .props import as_list, is_true
from .stackbase import StackResource, StackRule

EXPORTERS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["node-exporter", "gpu-exporter"],
    "description": "Exporter containers that may hold host access (host paths, GPUs, device files).",
}


def has_host_access(props: dict[str, Any]) -> bool:
    return bool(host_mounts(props)) or bool(as_list(props.get("devices"))) or uses_gpu(props)


def check_exporters_isolated(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    routers = {str(r) for r in cfg.get("routerContainers") or []}
    exporters = {str(e) for e in cfg.get("exporterContainers") or []}
    containers = _containers(resources)
    edge: dict[str, set[str]] = {}  # network -> routed containers and routers on it
    for name, _, props in containers:
        if _routed(props) or name in routers:
            for net in _networks(props):
                edge.setdefault(net, set()).add(name)
    out: list[tuple[str, str | None]] = []
    for name, urn, props in containers:
        if name not in exporters or not has_host_access(props):
            continue
        if as_list(props.get("ports")) or is_true(props.get("publishAllPorts")):
            out.append(
                (
                    f"exporter '{name}' holds host access and publishes ports. Fix: remove its `ports`; "
                    "Prometheus scrapes it over a network of its own.",
                    urn,
                )
            )
        if _routed(props) or name in routers:
            out.append((f"exporter '{name}' holds host access and is routed. Fix: remove its Traefik labels.", urn))
        for net in sorted(_networks(props)):
            others = sorted(o for o in edge.get(net, set()) if o != name)
            if others:
                out.append(
                    (
                        f"exporter '{name}' holds host access and shares network '{net}' with routed container(s) "
                        f"or the router: {', '.join(others)}. Fix: give it a network shared with Prometheus alone.",
                        urn,
                    )
                )
    return out


STACK_RULES: list[StackRule] = [
    StackRule(
        name="exporter-host-access-isolated",
        description=(
            "An exporter that holds host access publishes no ports and shares no network with a routed container "
            "or the router."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_exporters_isolated,
        config={"routerContainers": ROUTERS, "exporterContainers": EXPORTERS},
    ),
]
