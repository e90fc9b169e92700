"""Inference hosts: what another Docker host of the stack publishes binds its private address only.

A stack may run Ollama on more GPU hosts, each its own Docker engine (its own provider, named
after the host). Ollama answers anyone who reaches it, so such a host may publish a port only on
the private address the stack declares for it (`hosts`, generated from ai-stack:inferenceHosts):
never on every interface (`0.0.0.0`, `::`, no `ip`, or an address Docker cannot parse, which it
binds everywhere: addresses.py), never on another address, and never all ports at random.
A container of a host the config does not declare publishes nothing.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .addresses import binds_everywhere, go_parse_ip
from .props import as_dict, as_number, is_true
from .stackbase import StackResource, StackRule
from .view import View

Finding = tuple[str, str | None]


def _port(port: dict[str, Any]) -> str:
    """`ip:external->internal`, numbers as written (the wire carries them as doubles)."""
    ip = port.get("ip") if isinstance(port.get("ip"), str) and port.get("ip") else "0.0.0.0"
    external, internal = as_number(port.get("external")), as_number(port.get("internal"))
    return f"{ip}:{f'{external:g}' if external is not None else 'random'}->{f'{internal:g}' if internal else '?'}"


def _same(ip: Any, declared: str) -> bool:
    if binds_everywhere(ip):
        return False
    address, wanted = go_parse_ip(str(ip)), go_parse_ip(declared)
    return address is not None and address == wanted


def check_private_bind(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    hosts = {str(k): str(v) for k, v in as_dict(cfg.get("hosts")).items()}
    view = View(resources)
    out: list[Finding] = []
    for member in view.members:
        if not member.host:
            continue
        declared = hosts.get(member.host)
        if is_true(member.props.get("publishAllPorts")):
            out.append(
                (
                    f"container '{member.name}' on inference host '{member.host}' publishes all its ports on random "
                    "host ports of every interface. Fix: remove `publishAllPorts`.",
                    member.urn,
                )
            )
        for port in (as_dict(p) for p in view.published(member)):
            if declared is None:
                out.append(
                    (
                        f"container '{member.name}' publishes {_port(port)} on host '{member.host}', which has no "
                        "private address in the policy config. Fix: declare the host (make pack-config does, from "
                        "ai-stack:inferenceHosts) or publish nothing.",
                        member.urn,
                    )
                )
            elif not _same(port.get("ip"), declared):
                out.append(
                    (
                        f"container '{member.name}' on inference host '{member.host}' publishes {_port(port)}, beyond "
                        f"the host's private address {declared}: Ollama has no authentication. Fix: set the port's "
                        f"`ip` to {declared}.",
                        member.urn,
                    )
                )
    return out


STACK_RULES: list[StackRule] = [
    StackRule(
        name="inference-host-private-bind",
        description=(
            "A container on an inference host (another Docker host of the stack) publishes ports only on that "
            "host's declared private address."
        ),
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        check=check_private_bind,
        config={
            "hosts": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": {},
                "description": (
                    "Each inference host's private address, by the name of its provider (the stack's "
                    "ai-stack:inferenceHosts keys)."
                ),
            }
        },
    )
]
