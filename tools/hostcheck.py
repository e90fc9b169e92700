"""What the Docker host itself must offer a stack: checked against `docker info` before `pulumi up`.

Pure functions over the engine's info and the stack's settings, so the real engine's rules
are tested without one: each check names what the engine would do and what to change.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Sequence
from typing import Any

from stack import constants
from stack.settings import Settings, format_memory

MIB = 1024 * 1024
MIN_DOCKER = (25, 0)
"""Docker 25 (API 1.44) is the first to keep a healthcheck's start_interval; older engines drop
it, so it would read back as "0s" and every `up` would replace every container."""
# Containers the stack creates under fixed names.
NAMES = (
    constants.OLLAMA,
    constants.MODEL_PULL,
    constants.OPEN_WEBUI,
    constants.LITELLM,
    constants.POSTGRES,
    constants.TRAEFIK,
)


def version(text: str) -> tuple[int, int]:
    parts = [int(p) for p in text.split("-")[0].split("+")[0].split(".")[:2] if p.isdigit()]
    major, minor, *_ = [*parts, 0, 0]
    return major, minor


def engine_problems(info: dict[str, Any], s: Settings, stack_file: str) -> list[str]:
    """Blocking: the engine would refuse the stack, or re-create it on every `up`."""
    found = []
    server = str(info.get("ServerVersion") or "0")
    if version(server) < MIN_DOCKER:
        found.append(
            f"Docker Engine {server} is older than 25.0: it drops the healthchecks' start_interval, "
            "so every `pulumi up` would replace every container; upgrade Docker"
        )
    ncpu = int(info.get("NCPU") or 0)
    if ncpu and s.host.cpus > ncpu:
        # moby daemon/daemon_unix.go: "Range of CPUs is from 0.01 to N, as there are only N CPUs".
        found.append(
            f"{stack_file}: ai-stack:host.cpus is {s.host.cpus:g} but the Docker host has {ncpu} CPUs; the engine "
            f"refuses a container with more CPUs than that: set ai-stack:host.cpus to {ncpu} or less"
        )
    mem = int(info.get("MemTotal") or 0) // MIB
    if mem and s.host.memory > mem:
        found.append(
            f"{stack_file}: ai-stack:host.memory is {format_memory(s.host.memory)} but the Docker host has "
            f"{mem}Mi; the capacity checks would promise memory that is not there: lower ai-stack:host.memory"
        )
    return found


def engine_warnings(info: dict[str, Any]) -> list[str]:
    """Not blocking, but a user sees them on every `up`."""
    found = []
    if info.get("SwapLimit") is False:
        found.append(
            "the Docker host has no swap accounting: each container's memory_swap reads back as -1, "
            "so every `pulumi up` shows an in-place update (no restart); enable swap accounting to silence it"
        )
    return found


def listening(port: int, host: str = constants.LOOPBACK) -> bool:
    """Whether something accepts connections on host:port of this machine."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def clash_problems(
    s: Settings,
    containers: Sequence[dict[str, str]],
    *,
    local_engine: bool,
    is_listening: Callable[[int], bool] = listening,
) -> list[str]:
    """Names and loopback ports the stack needs that something else already holds.

    `containers` are `docker ps -a` rows ({"Names", "Labels", "Ports"}); ours carry no compose
    label, so a same-named container with one is from an earlier compose setup.
    """
    found = []
    by_name = {c["Names"]: c for c in containers}
    for name in NAMES:
        row = by_name.get(name)
        project = _label(row["Labels"], "com.docker.compose.project") if row else None
        if project:
            found.append(
                f"a container named {name!r} exists from the docker compose project {project!r}: "
                f"run `docker compose -p {project} down` (named volumes stay) before `pulumi up`"
            )
    if s.publishes_ports and local_engine:
        for key, port in (("ollama", s.ports.ollama), ("openWebui", s.ports.open_webui), ("litellm", s.ports.litellm)):
            ours = any(
                f"127.0.0.1:{port}->" in c.get("Ports", "")
                for c in containers
                if not _label(c["Labels"], "com.docker.compose.project")
            )
            if not ours and is_listening(port):
                hint = " (a native Ollama: quit the app or `systemctl stop ollama`)" if key == "ollama" else ""
                found.append(
                    f"127.0.0.1:{port} is already in use{hint}: stop that program, or set "
                    f"ai-stack:ports.{key} to a free port"
                )
    return found


def _label(labels: str, key: str) -> str | None:
    for item in (labels or "").split(","):
        k, _, v = item.partition("=")
        if k == key:
            return v
    return None


def parse_ps(text: str) -> list[dict[str, str]]:
    """`docker ps -a --format '{{json .}}'` output, one JSON object a line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
