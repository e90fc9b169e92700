"""Stack-wide exposure rules: who holds the Docker socket, and who sits on the routed network.

Both need the whole stack (AnalyzeStack): whether a network is routed, and who else is on the
socket holder's networks, are facts about other containers.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import ROUTERS, Kics
from .mounts import DOCKER_SOCKETS
from .props import CONTAINER, as_dict, as_list, container_name, is_true, is_unknown, labels_map
from .stackbase import StackResource, StackRule

PROVIDER_NETWORK = "--providers.docker.network="


def _networks(props: dict[str, Any]) -> set[str]:
    """Literal network names of a container (networksAdvanced, and networkMode unless special)."""
    names = {as_dict(n).get("name") for n in as_list(props.get("networksAdvanced"))}
    mode = props.get("networkMode")
    if isinstance(mode, str) and mode not in ("", "bridge", "default", "host", "none") and ":" not in mode:
        names.add(mode)
    return {n for n in names if isinstance(n, str) and n and not is_unknown(n)}


def _mounts_socket(props: dict[str, Any]) -> bool:
    paths = [as_dict(v).get("hostPath") for v in as_list(props.get("volumes"))]
    paths += [as_dict(m).get("source") for m in as_list(props.get("mounts")) if as_dict(m).get("type") == "bind"]
    return any(
        isinstance(p, str) and ("/" + p.strip("/") in DOCKER_SOCKETS or p.endswith("docker.sock")) for p in paths
    )


def _routed(props: dict[str, Any]) -> bool:
    return labels_map(props).get("traefik.enable", "").lower() == "true"


def _containers(resources: list[StackResource]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(container_name(r.props, r.name), r.urn, r.props) for r in resources if r.resource_type == CONTAINER]


def routed_networks(resources: list[StackResource], routers: set[str]) -> set[str]:
    """Networks Traefik reaches services on: routed containers' `traefik.docker.network`, and
    the router's `--providers.docker.network`."""
    found: set[str] = set()
    for name, _, props in _containers(resources):
        if _routed(props):
            net = labels_map(props).get("traefik.docker.network")
            if net:
                found.add(net)
        if name in routers:
            for arg in as_list(props.get("command")):
                if isinstance(arg, str) and arg.startswith(PROVIDER_NETWORK):
                    found.add(arg.removeprefix(PROVIDER_NETWORK))
    return found


def check_socket_isolated(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    routers = {str(r) for r in cfg.get("routerContainers") or []}
    containers = _containers(resources)
    exposed: dict[str, set[str]] = {}  # network -> routed containers and routers on it
    for name, _, props in containers:
        if _routed(props) or name in routers:
            for net in _networks(props):
                exposed.setdefault(net, set()).add(name)
    out: list[tuple[str, str | None]] = []
    for name, urn, props in containers:
        if not _mounts_socket(props):
            continue
        if as_list(props.get("ports")) or is_true(props.get("publishAllPorts")):
            out.append(
                (
                    f"container '{name}' mounts the Docker socket and publishes ports, so the Docker API "
                    "(root on the host) is one hop from the network. Fix: remove its `ports`.",
                    urn,
                )
            )
        if _routed(props) or name in routers:
            out.append(
                (
                    f"container '{name}' mounts the Docker socket and is routed or is the router. "
                    "Fix: read the socket through a socket proxy on a network of its own.",
                    urn,
                )
            )
        for net in sorted(_networks(props)):
            others = sorted(o for o in exposed.get(net, set()) if o != name)
            routed_others = [o for o in others if o not in routers]
            if routed_others:
                out.append(
                    (
                        f"container '{name}' mounts the Docker socket and shares network '{net}' with routed "
                        f"container(s) {', '.join(routed_others)}. Fix: give it a network shared with the router "
                        "alone.",
                        urn,
                    )
                )
    return out


def check_routed_network_members(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    routers = {str(r) for r in cfg.get("routerContainers") or []}
    routed_nets = routed_networks(resources, routers)
    out: list[tuple[str, str | None]] = []
    for name, urn, props in _containers(resources):
        if _routed(props) or name in routers:
            continue
        on = sorted(_networks(props) & routed_nets)
        if on:
            out.append(
                (
                    f"container '{name}' is on the routed network {', '.join(repr(n) for n in on)} but is not "
                    "routed by Traefik, so anything that reaches that network reaches it. Fix: move it to the "
                    "internal network, or route it (traefik.enable=true).",
                    urn,
                )
            )
    return out


STACK_RULES: list[StackRule] = [
    StackRule(
        name="docker-socket-isolated",
        description=(
            "Only a container that publishes no ports and shares no network with a routed container mounts "
            "the Docker socket."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        check=check_socket_isolated,
        config={"routerContainers": ROUTERS},
        kics=(Kics("d6355c88", "Docker Socket Mounted In Container"),),
        cis=("5.32",),
    ),
    StackRule(
        name="routed-network-members-routed",
        description="A container on a routed network is either routed by Traefik or is the router.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_routed_network_members,
        config={"routerContainers": ROUTERS},
    ),
]
