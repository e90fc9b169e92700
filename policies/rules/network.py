"""Published ports: host interfaces and privileged ports (datastores: `datastores`; TLS routes:
`routes`; networks on the host's LAN: `kinds`)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .addresses import binds_everywhere
from .base import ROUTERS, Context, Kics, Rule
from .props import as_dict, as_list, as_number, is_true, is_unknown


def _ports(props: dict[str, Any]) -> list[dict[str, Any]]:
    return [as_dict(p) for p in as_list(props.get("ports"))]


def _ip(port: dict[str, Any]) -> str:
    ip = port.get("ip")
    return ip if isinstance(ip, str) else ""


def _port_text(port: dict[str, Any]) -> str:
    internal = as_number(port.get("internal"))
    external = as_number(port.get("external"))
    inner = f"{internal:g}" if internal is not None else "?"
    outer = f"{external:g}" if external is not None else "random"
    return f"{_ip(port) or '0.0.0.0'}:{outer}->{inner}"


def check_host_interfaces(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    routers = set(cfg.get("routerContainers") or [])
    router_ports = {int(float(p)) for p in cfg.get("routerPorts") or []}
    out = []
    if is_true(props.get("publishAllPorts")):
        out.append(
            f"container '{ctx.name}' publishes every exposed port on all interfaces (publishAllPorts). "
            "Fix: remove `publishAllPorts` and list ports with an explicit `ip`."
        )
    for port in _ports(props):
        if is_unknown(port.get("ip")) or not binds_everywhere(port.get("ip")):
            continue
        external = as_number(port.get("external"))
        if ctx.name in routers and external is not None and int(external) in router_ports:
            continue
        spelled = f" (Docker reads {_ip(port)!r} as every interface)" if _ip(port) not in ("", "0.0.0.0", "::") else ""
        out.append(
            f"container '{ctx.name}' binds {_port_text(port)} on all host interfaces{spelled}. "
            'Fix: set `ip: "127.0.0.1"` (or a specific interface), or route it through the router.'
        )
    return out


def _caps(values: object) -> set[str]:
    # Docker upper-cases capability names and adds the CAP_ prefix (moby oci/caps NormalizeLegacyCapabilities).
    return {str(c).upper().removeprefix("CAP_") for c in as_list(values)}


def keeps_net_bind_service(props: dict[str, Any]) -> bool:
    """True unless the container drops NET_BIND_SERVICE (alone or with ALL) and does not add it back."""
    if is_true(props.get("privileged")):
        return True
    caps = as_dict(props.get("capabilities"))
    adds, drops = _caps(caps.get("adds")), _caps(caps.get("drops"))
    if adds & {"ALL", "NET_BIND_SERVICE"}:
        return True
    return not drops & {"ALL", "NET_BIND_SERVICE"}


def check_privileged_ports(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    routers = set(cfg.get("routerContainers") or [])
    keeps = keeps_net_bind_service(props)
    out = []
    for port in _ports(props):
        external, internal = as_number(port.get("external")), as_number(port.get("internal"))
        if external is not None and 0 < external < 1024 and ctx.name not in routers:
            out.append(
                f"container '{ctx.name}' maps privileged host port {external:g}. "
                "Fix: publish a port >= 1024, or serve it through the router."
            )
        if internal is not None and 0 < internal < 1024 and keeps:
            out.append(
                f"container '{ctx.name}' listens on privileged container port {internal:g} ({_port_text(port)}) "
                "and keeps NET_BIND_SERVICE. Fix: listen on a port >= 1024 inside the container (publish it on "
                'the host port you need), or drop the capability (`capabilities.drops: ["ALL"]`).'
            )
    return out


RULES: list[Rule] = [
    Rule(
        name="container-ports-bound-to-interface",
        description=(
            "Published ports bind a specific host interface, as Docker parses the address, except the router's 80/443."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_host_interfaces,
        config={
            "routerContainers": ROUTERS,
            "routerPorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": [80, 443],
                "description": "Host ports the router may bind on all interfaces.",
            },
        },
        kics=(
            Kics(
                "451d79dc",
                "Container Traffic Not Bound To Host Interface",
                partial="the router (`routerContainers`) may bind its host ports 80/443 (`routerPorts`) on all "
                "interfaces: it is the edge",
            ),
        ),
        cis=("5.14",),
    ),
    Rule(
        name="container-no-privileged-ports",
        description=(
            "Only the router maps host ports below 1024, and no container listens below 1024 unless it drops "
            "NET_BIND_SERVICE."
        ),
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.LOW,
        check=check_privileged_ports,
        config={"routerContainers": ROUTERS},
        kics=(
            Kics(
                "bc2908f3",
                "Privileged Ports Mapped In Container",
                partial="the router may map host ports 80/443; its own container ports must be unprivileged too",
            ),
        ),
        cis=("5.8",),
    ),
]
