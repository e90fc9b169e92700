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
from .lifecycle import uses_gpu
from .props import as_list, is_true
from .stackbase import StackResource, StackRule
from .view import Member, View

EXPORTERS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["node-exporter", "gpu-exporter"],
    "description": "Exporter containers that may hold host access (host paths, GPUs, device files).",
}


def has_host_access(view: View, member: Member) -> bool:
    props = member.props
    return bool(view.mounts(member)) or bool(as_list(props.get("devices"))) or uses_gpu(props)


def check_exporters_isolated(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    view = View(resources, {str(r) for r in cfg.get("routerContainers") or []})
    exporters = {str(e) for e in cfg.get("exporterContainers") or []}
    edge: dict[str, set[str]] = {}  # network -> routed containers and routers on it
    for member in view.members:
        if view.routed(member) or view.is_router(member):
            for net in view.networks(member):
                edge.setdefault(net, set()).add(member.name)
    out: list[tuple[str, str | None]] = []
    for member in view.members:
        name, urn = member.name, member.urn
        if name not in exporters or not has_host_access(view, member):
            continue
        if view.published(member) or is_true(member.props.get("publishAllPorts")):
            out.append(
                (
                    f"exporter '{name}' holds host access and publishes ports. Fix: remove its `ports`; "
                    "Prometheus scrapes it over a network of its own.",
                    urn,
                )
            )
        if view.routed(member) or view.is_router(member):
            out.append((f"exporter '{name}' holds host access and is routed. Fix: remove its Traefik labels.", urn))
        mates = sorted(m.name for m in view.namespace_mates(member))
        if mates:
            out.append(
                (
                    f"exporter '{name}' holds host access and shares its network namespace with {', '.join(mates)} "
                    "(`networkMode: container:…`). Fix: give it a network namespace of its own.",
                    urn,
                )
            )
        for net in sorted(view.networks(member)):
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
