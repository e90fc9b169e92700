"""Stack-wide exposure rules: who holds the Docker socket, and who sits on the routed network.

Both need the whole stack (AnalyzeStack): whether a network is routed, who else is on the
socket holder's networks or in its network namespace (`networkMode: container:<x>`), and what
it inherits with `volumesFrom`, are facts about other containers (``view``).
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import ROUTERS, Kics
from .mounts import is_socket
from .props import as_list, is_true, labels_map
from .stackbase import StackResource, StackRule
from .view import Member, View

PROVIDER_NETWORK = "--providers.docker.network="
Finding = tuple[str, str | None]


def _mounts_socket(view: View, member: Member) -> bool:
    return any(is_socket(m.host) for m in view.mounts(member))


def _exposed(view: View, member: Member) -> bool:
    return view.routed(member) or view.is_router(member)


def routed_networks(view: View) -> set[str]:
    """Networks Traefik reaches services on: routed containers' `traefik.docker.network`, and
    the router's `--providers.docker.network`."""
    found: set[str] = set()
    for member in view.members:
        if view.routed(member):
            net = {k.lower(): v for k, v in labels_map(member.props).items()}.get("traefik.docker.network")
            if net:
                found.add(net)
        if view.is_router(member):
            for arg in as_list(member.props.get("command")):
                if isinstance(arg, str) and arg.lower().startswith(PROVIDER_NETWORK):
                    found.add(arg[len(PROVIDER_NETWORK) :])
    return found


def _unresolved_join(view: View, member: Member) -> Finding | None:
    target = view.netns_target(member)
    if target is None or view.netns_owner(member) is not None:
        return None
    return (
        f"container '{member.name}' joins the network namespace of '{target}' (`networkMode: container:{target}`), "
        "a container the stack does not declare, so who it is reachable by cannot be reviewed. Fix: give it a "
        "network of its own.",
        member.urn,
    )


def check_socket_isolated(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    view = View(resources, {str(r) for r in cfg.get("routerContainers") or []})
    exposed: dict[str, set[str]] = {}  # network -> routed containers and routers on it
    for member in view.members:
        if _exposed(view, member):
            for net in view.networks(member):
                exposed.setdefault(net, set()).add(member.name)
    out: list[Finding] = []
    for member in view.members:
        if not _mounts_socket(view, member):
            continue
        name, urn = member.name, member.urn
        join = _unresolved_join(view, member)
        if join:
            out.append(join)
        if view.published(member) or is_true(member.props.get("publishAllPorts")):
            out.append(
                (
                    f"container '{name}' mounts the Docker socket and its network namespace publishes ports, so the "
                    "Docker API (root on the host) is one hop from the network. Fix: remove its `ports`.",
                    urn,
                )
            )
        if _exposed(view, member):
            out.append(
                (
                    f"container '{name}' mounts the Docker socket and is routed or is the router. "
                    "Fix: read the socket through a socket proxy on a network of its own.",
                    urn,
                )
            )
        mates = sorted(m.name for m in view.namespace_mates(member))
        if mates:
            out.append(
                (
                    f"container '{name}' mounts the Docker socket and shares its network namespace with "
                    f"{', '.join(mates)} (`networkMode: container:…`). Fix: give each its own network namespace.",
                    urn,
                )
            )
        for net in sorted(view.networks(member)):
            others = sorted(o for o in exposed.get(net, set()) if o != name and o not in mates)
            routed_others = [o for o in others if o not in view.routers]
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


def check_routed_network_members(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    view = View(resources, {str(r) for r in cfg.get("routerContainers") or []})
    routed_nets = routed_networks(view)
    out: list[Finding] = []
    for member in view.members:
        if _exposed(view, member):
            continue
        join = _unresolved_join(view, member)
        if join:
            out.append(join)
        owner = view.netns_owner(member)
        if owner is not None and owner is not member and _exposed(view, owner):
            out.append(
                (
                    f"container '{member.name}' lives in the network namespace of the routed container "
                    f"'{owner.name}' (`networkMode: container:…`), so whatever reaches '{owner.name}' reaches it. "
                    "Fix: give it a network namespace of its own on the internal network.",
                    member.urn,
                )
            )
            continue
        on = sorted(view.networks(member) & routed_nets)
        if on:
            out.append(
                (
                    f"container '{member.name}' is on the routed network {', '.join(repr(n) for n in on)} but is not "
                    "routed by Traefik, so anything that reaches that network reaches it. Fix: move it to the "
                    "internal network, or route it (traefik.enable=true).",
                    member.urn,
                )
            )
    return out


STACK_RULES: list[StackRule] = [
    StackRule(
        name="docker-socket-isolated",
        description=(
            "Only a container that publishes no ports and shares no network or network namespace with a routed "
            "container holds the Docker socket, however it is mounted."
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
        description=(
            "A container on a routed network, or in a routed container's network namespace, is routed by Traefik "
            "or is the router."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_routed_network_members,
        config={"routerContainers": ROUTERS},
    ),
]
