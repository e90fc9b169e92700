"""Containers on a network that puts them on the host's LAN (a stack rule: the network is
another resource). `network-not-on-host-lan` reports the network itself; this one names every
container attached to it, by `networksAdvanced` or `networkMode`, or living in such a
container's network namespace. A network the stack does not declare cannot be judged."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .kinds import NETWORK_LAN, on_host_lan
from .stackbase import StackResource, StackRule
from .view import View


def check_containers_on_lan(resources: list[StackResource], cfg: dict[str, Any]) -> list[tuple[str, str | None]]:
    allowed = {str(n) for n in cfg.get("allowedNetworks") or []}
    view = View(resources)
    out: list[tuple[str, str | None]] = []
    for member in view.members:
        for net in sorted(view.networks(member)):
            how = on_host_lan(view.network_props.get(net, {}))
            if how and net not in allowed:
                out.append(
                    (
                        f"container '{member.name}' is on network '{net}', which puts it on the host's LAN ({how}): "
                        "anyone on that LAN reaches its ports, published or not. Fix: attach it to a bridge "
                        "network and publish through the router.",
                        member.urn,
                    )
                )
    return out


CONTAINERS_ON_LAN = StackRule(
    name="container-not-on-host-lan",
    description="No container sits on a network that puts it on the host's LAN (macvlan, ipvlan, routed gateway).",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_containers_on_lan,
    config={"allowedNetworks": NETWORK_LAN.config["allowedNetworks"]},
)

STACK_RULES: list[StackRule] = [CONTAINERS_ON_LAN]
