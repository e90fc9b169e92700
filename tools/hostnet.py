"""The Docker host's network settings that break IPv6 publishing or make a second `up` differ.

Pure checks over what `make up` can learn: the daemon's own configuration (daemon.json and the
dockerd command line, readable when Docker runs on this machine), the kernel's IPv6, the engine's
version and, for an adopted routed network, `docker network inspect`. Each finding names the
host setting and the fix (issue 20: F13, F14, F15).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack.settings import Settings

MIN_DOCKER_IPV6 = (27, 0, 0)
"""Docker 27 allocates an IPv6 subnet for a network created with EnableIPv6 and none given (a ULA
/64 from the host's id, moby#47853) and turns ip6tables on by default (moby#47747)."""
ENABLE_IPV6 = "com.docker.network.enable_ipv6"
FLAGS = {"--userland-proxy": "userland-proxy", "--ip6tables": "ip6tables", "--config-file": "config-file"}


@dataclass(frozen=True)
class HostNet:
    """What is known of the Docker host; None where it cannot be seen from here."""

    daemon: Mapping[str, Any] | None = None
    """daemon.json merged with dockerd's flags (local engine only)."""
    ipv6: bool | None = None
    """The kernel has IPv6 (no ipv6.disable=1): local engine only."""
    version: tuple[int, ...] = ()
    routed_network_ipv6: bool | None = None
    """EnableIPv6 of the adopted routed network (`ai-stack:network.external`), when it exists."""
    notes: list[str] = field(default_factory=list)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes"}


def daemon_config(proc: Path = Path("/proc"), default: Path = Path("/etc/docker/daemon.json")) -> dict[str, Any] | None:
    """The running dockerd's settings on this machine: its daemon.json (`--config-file`, else the
    default path) overlaid with the flags of its command line; None when no dockerd runs here."""
    argv = _dockerd_argv(proc)
    if argv is None:
        return None
    flags: dict[str, Any] = {}
    for arg in argv[1:]:
        name, _, value = arg.partition("=")
        if name in FLAGS:
            flags[FLAGS[name]] = value if value else "true"
    path = Path(str(flags.get("config-file") or default))
    config: dict[str, Any] = {}
    try:
        loaded = json.loads(path.read_text())
        config = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        config = {}
    return {**config, **{k: v for k, v in flags.items() if k != "config-file"}}


def _dockerd_argv(proc: Path) -> list[str] | None:
    try:
        entries = list(proc.iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode(errors="replace")).name == "dockerd":
            return [a.decode(errors="replace") for a in argv if a]
    return None


def kernel_ipv6(proc: Path = Path("/proc")) -> bool:
    """False when the kernel was booted with ipv6.disable=1 (then /proc/net/if_inet6 is absent)."""
    try:
        cmdline = (proc / "cmdline").read_text()
    except OSError:
        cmdline = ""
    if "ipv6.disable=1" in shlex.split(cmdline):
        return False
    return (proc / "net" / "if_inet6").exists()


def problems(s: Settings, host: HostNet, stack_file: str) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the host's network settings for this stack."""
    found: list[str] = []
    warned: list[str] = []
    daemon = host.daemon or {}
    key = f"{stack_file}: ai-stack:traefik.ipv6 is true"
    off = "or set ai-stack:traefik.ipv6: false"
    no_proxy = "userland-proxy" in daemon and not _truthy(daemon["userland-proxy"])
    ipv6_on = s.deploys_traefik and s.traefik.ipv6
    if ipv6_on and host.ipv6 is False:
        # F14: the create binds [::]:80, which a kernel without IPv6 refuses.
        found.append(
            f"{key} but the Docker host's kernel has no IPv6 (booted with ipv6.disable=1): Traefik's "
            f"create would fail binding [::]:80 and the IPv6 network cannot be made; boot without ipv6.disable=1, {off}"
        )
    if ipv6_on and host.ipv6 is None:
        warned.append(
            "Docker is not on this machine, so its IPv6 (no ipv6.disable=1 on the kernel command line), "
            "`userland-proxy` and `ip6tables` cannot be checked from here: ai-stack:traefik.ipv6 needs IPv6 there"
        )
    if ipv6_on and not s.network.external and host.version and host.version < MIN_DOCKER_IPV6:
        found.append(
            f"{key} but Docker {'.'.join(map(str, host.version))} gives the routed network no IPv6 subnet by itself "
            f"(Docker 27 allocates one, moby#47853): upgrade Docker to 27 or newer, {off}"
        )
    if ipv6_on and s.network.external and host.routed_network_ipv6 is False:
        text = (
            f"the adopted network {s.network.name!r} has no IPv6, so IPv6 clients cannot reach Traefik with their "
            "own addresses"
        )
        if no_proxy:
            # F13: without docker-proxy the engine drops an IPv6 bind to an IPv4-only container.
            found.append(
                f"{key} and the daemon runs with userland-proxy false, but {text}: the engine drops the IPv6 binds, "
                f"so every `pulumi up` would replace Traefik; recreate {s.network.name!r} with IPv6 "
                f"(docker network create --ipv6), {off}"
            )
        else:
            warned.append(f"{text} (docker-proxy answers for them): recreate it with --ipv6")
    if ipv6_on and "ip6tables" in daemon and not _truthy(daemon["ip6tables"]):
        warned.append(
            'the daemon runs with "ip6tables": false: IPv6 clients reach Traefik through docker-proxy, as its '
            'address (one rate-limit bucket for all), or not at all with userland-proxy false; remove "ip6tables"'
        )
    defaults = (daemon.get("default-network-opts") or {}).get("bridge") or {}
    if _truthy(defaults.get(ENABLE_IPV6, "")):
        warned.append(
            f'daemon.json "default-network-opts" sets {ENABLE_IPV6}: the stack\'s IPv4-only networks get IPv6 too '
            "(the stack ignores their ipv6 rather than replace them on every `pulumi up`); remove it to keep them IPv4"
        )
    return found, warned
