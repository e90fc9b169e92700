"""Is the cloud metadata address blocked for containers? A prerequisite check of `make up`.

Docker's own networks that are not `internal` (the routed one, Ollama's egress) reach anything
the host reaches, cloud metadata services included (169.254.169.254 hands out instance
credentials on AWS, GCP, Azure and OpenStack; fd00:ec2::254 on AWS over IPv6). Pulumi's Docker
provider cannot manage the host's firewall, so the README gives the rule and this check warns
when the DOCKER-USER chain (which Docker evaluates first for container traffic, and never
rewrites) has no DROP or REJECT for it.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Callable, Sequence
from subprocess import CompletedProcess

METADATA_V4 = ipaddress.ip_address("169.254.169.254")
METADATA_V6 = ipaddress.ip_address("fd00:ec2::254")
RULES = (
    "iptables -I DOCKER-USER -d 169.254.169.254/32 -j DROP",
    "ip6tables -I DOCKER-USER -d fd00:ec2::254/128 -j DROP",
)
"""The rules the README gives (persist them with the host's firewall service)."""

Runner = Callable[[Sequence[str]], "CompletedProcess[str]"]


def blocks(rules: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `iptables -S DOCKER-USER` output has a rule dropping or rejecting traffic to
    `address` with no other condition (no protocol, port, interface or source narrowing it)."""
    for line in rules.splitlines():
        words = shlex.split(line)
        if len(words) < 2 or words[0] not in ("-A", "-I") or words[1] != "DOCKER-USER":
            continue
        opts = dict(zip(words[2::2], words[3::2], strict=False))
        if set(opts) != {"-d", "-j"} or opts["-j"] not in ("DROP", "REJECT"):
            continue
        try:
            if address in ipaddress.ip_network(opts["-d"], strict=False):
                return True
        except ValueError:
            continue
    return False


def metadata_warnings(run: Runner, *, local_engine: bool) -> list[str]:
    """A warning for each family whose DOCKER-USER chain does not block the metadata address."""
    if not local_engine:
        return [
            "cannot check the Docker host's firewall from here (DOCKER_HOST is remote): make sure its "
            "DOCKER-USER chain drops the cloud metadata address (" + "; ".join(RULES) + ")"
        ]
    out = []
    for tool, address, rule in (("iptables", METADATA_V4, RULES[0]), ("ip6tables", METADATA_V6, RULES[1])):
        listed = run([tool, "-S", "DOCKER-USER"])
        if listed.returncode != 0:
            why = listed.stderr.strip()[:120]
            out.append(f"cannot read the DOCKER-USER chain with {tool} ({why}): make sure it has `{rule}`")
        elif not blocks(listed.stdout, address):
            out.append(
                f"containers on the routed and egress networks can reach the cloud metadata address {address}: "
                f"add `{rule}` on the Docker host (README, Security: outbound traffic)"
            )
    return out
