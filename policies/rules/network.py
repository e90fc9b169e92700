"""Network exposure rules: published datastores, host interfaces, privileged ports, TLS routes."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import ROUTERS, Context, Kics, Rule
from .props import (
    ALL_INTERFACES,
    as_dict,
    as_list,
    as_number,
    image_repository,
    is_true,
    is_unknown,
    labels_map,
)

LOOPBACK = ("127.0.0.1", "::1", "[::1]", "localhost")


def _ports(props: dict[str, Any]) -> list[dict[str, Any]]:
    return [as_dict(p) for p in as_list(props.get("ports"))]


def _ip(port: dict[str, Any]) -> str:
    ip = port.get("ip")
    return ip.strip() if isinstance(ip, str) else ""


def _port_text(port: dict[str, Any]) -> str:
    internal = as_number(port.get("internal"))
    external = as_number(port.get("external"))
    inner = f"{internal:g}" if internal is not None else "?"
    outer = f"{external:g}" if external is not None else "random"
    return f"{_ip(port) or '0.0.0.0'}:{outer}->{inner}"


def check_datastore_ports(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    datastores = {int(float(k)): str(v) for k, v in as_dict(cfg.get("datastorePorts")).items()}
    images = {str(i).lower() for i in cfg.get("datastoreImages") or []}
    loopback_ok = set(cfg.get("loopbackAllowed") or [])
    image = props.get("image")
    repo = image_repository(image) if isinstance(image, str) and not is_unknown(image) else ""
    is_datastore_image = bool(repo) and (repo in images or repo.rsplit("/", 1)[-1] in images)
    out = []
    for port in _ports(props):
        internal = as_number(port.get("internal"))
        kind = datastores.get(int(internal)) if internal is not None else None
        if kind is None and not is_datastore_image:
            continue
        what = kind or repo
        if ctx.name in loopback_ok and _ip(port) in LOOPBACK:
            continue
        allowed = " (only loopback 127.0.0.1 is allowed for this container)" if ctx.name in loopback_ok else ""
        out.append(
            f"container '{ctx.name}' publishes its {what} port to the host ({_port_text(port)}){allowed}. "
            "Fix: remove the `ports` entry and reach it over the internal Docker network."
        )
    return out


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
        if _ip(port) not in ALL_INTERFACES or is_unknown(port.get("ip")):
            continue
        external = as_number(port.get("external"))
        if ctx.name in routers and external is not None and int(external) in router_ports:
            continue
        out.append(
            f"container '{ctx.name}' binds {_port_text(port)} on all host interfaces. "
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


ROUTER_LABEL = re.compile(r"^traefik\.http\.routers\.([^.]+)\.(.+)$")


def check_tls_routes(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    labels = labels_map(props)
    if labels.get("traefik.enable", "").lower() == "false":
        return []
    tls_entrypoints = {str(e) for e in cfg.get("tlsEntrypoints") or []}
    require_resolver = cfg.get("requireCertResolver", True)
    routers: dict[str, dict[str, str]] = {}
    for key, value in labels.items():
        match = ROUTER_LABEL.match(key)
        if match:
            routers.setdefault(match.group(1), {})[match.group(2)] = value
    out = []
    for router, keys in sorted(routers.items()):
        entrypoints = [e.strip() for e in keys.get("entrypoints", "").split(",") if e.strip()]
        plain_eps = [e for e in entrypoints if e not in tls_entrypoints]
        if not entrypoints or plain_eps:
            shown = ", ".join(plain_eps) if plain_eps else "all entrypoints (none set)"
            out.append(
                f"container '{ctx.name}': Traefik router '{router}' listens on {shown}, not only on "
                f"{sorted(tls_entrypoints)}. Fix: set `traefik.http.routers.{router}.entrypoints` to a TLS entrypoint."
            )
        has_tls = keys.get("tls", "").lower() == "true" or bool(keys.get("tls.certresolver"))
        if not has_tls:
            out.append(
                f"container '{ctx.name}': Traefik router '{router}' has no TLS. "
                f"Fix: set `traefik.http.routers.{router}.tls.certresolver`."
            )
        elif require_resolver and not keys.get("tls.certresolver"):
            out.append(
                f"container '{ctx.name}': Traefik router '{router}' has TLS without a certificate resolver. "
                f"Fix: set `traefik.http.routers.{router}.tls.certresolver`."
            )
    return out


RULES: list[Rule] = [
    Rule(
        name="container-no-published-datastore",
        description="Datastore ports (Postgres, Ollama) are not published to the host.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_datastore_ports,
        config={
            "datastorePorts": {
                "type": "object",
                "default": {"5432": "postgres", "11434": "ollama"},
                "additionalProperties": {"type": "string"},
                "description": "Internal ports that identify a datastore: {port: label}.",
            },
            "datastoreImages": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["postgres", "ollama/ollama"],
                "description": "Image repositories whose every published port counts as a datastore port.",
            },
            "loopbackAllowed": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Containers that may publish their datastore port on 127.0.0.1 only (laptop profile).",
            },
        },
        cis=("5.9",),
    ),
    Rule(
        name="container-ports-bound-to-interface",
        description="Published ports bind a specific host interface, except the router's 80/443.",
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
    Rule(
        name="traefik-routes-tls-only",
        description="Traefik routers listen only on TLS entrypoints and obtain certificates from a resolver.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_tls_routes,
        config={
            "tlsEntrypoints": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["websecure"],
                "description": "Traefik entrypoints that terminate TLS.",
            },
            "requireCertResolver": {
                "type": "boolean",
                "default": True,
                "description": "Require tls.certresolver, not just tls=true.",
            },
        },
    ),
]
