"""What the Docker host itself must offer a stack: checked against `docker info` before `pulumi up`.

Pure functions over the engine's info and the stack's settings, so the real engine's rules
are tested without one: each check names what the engine would do and what to change.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from policies.rules import pinning
from stack import constants
from stack.settings import Settings, format_memory
from stack.settings.ollama import HOST_GATEWAY_NAME

MIB = 1024 * 1024
MIN_DOCKER = (25, 0, 0)
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


def release(text: str) -> tuple[int, ...]:
    """The numeric release of a version string: "20.10.24+dfsg1" → (20, 10, 24), "v0.32.15-rc1" →
    (0, 32, 15); padded to three parts so "25" compares equal to "25.0.0"; () when none."""
    parts = [int(p) for p in text.split("-")[0].split("+")[0].lstrip("v").split(".") if p.isdigit()]
    return (*parts, 0, 0, 0)[:3] if parts else ()


def engine_problems(info: dict[str, Any], s: Settings, stack_file: str) -> list[str]:
    """Blocking: the engine would refuse the stack, or re-create it on every `up`."""
    found = []
    server = str(info.get("ServerVersion") or "0")
    if release(server) < MIN_DOCKER:
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
        # The provider's Read stores MemorySwap -1; its Update ends without a Read
        # (resource_docker_container_funcs.go v4.5.0), so the planned value stays until the next
        # create or refresh reads -1 again.
        found.append(
            "the Docker host has no swap accounting (docker info: No swap limit support): each container's "
            "memory_swap reads back as -1, so the first `pulumi up` after a container is created or refreshed "
            "shows an in-place update of memory_swap (`docker update`, no restart); enable swap accounting "
            "(cgroup v2, or swapaccount=1 on cgroup v1) to silence it"
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
    for name in NAMES if s.ollama.in_container else [n for n in NAMES if n != constants.OLLAMA]:
        row = by_name.get(name)
        project = _label(row["Labels"], "com.docker.compose.project") if row else None
        if project:
            found.append(
                f"a container named {name!r} exists from the docker compose project {project!r}: "
                f"run `docker compose -p {project} down` (named volumes stay) before `pulumi up`"
            )
    if s.publishes_ports and local_engine:
        # In host mode the stack publishes no Ollama port: 11434 belongs to the host's Ollama.
        ollama = [("ollama", s.ports.ollama)] if s.ollama.in_container else []
        for key, port in (*ollama, ("openWebui", s.ports.open_webui), ("litellm", s.ports.litellm)):
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


def amd_problems(
    s: Settings, stack_file: str, *, local_engine: bool, exists: Callable[[str], bool] = os.path.exists
) -> tuple[list[str], list[str]]:
    """(problems, warnings) for an AMD Ollama: its device files exist on a local Docker host."""
    gpu = s.ollama.gpu
    if not s.ollama.in_container or gpu is None or gpu.driver != "amd":
        return [], []
    devices = gpu.devices()
    if not local_engine:
        return [], [
            f"Docker is not on this machine, so its AMD GPU devices ({', '.join(devices)}) cannot be checked "
            "from here: run `ls -l /dev/kfd /dev/dri` on the Docker host"
        ]
    missing = [d for d in devices if not exists(d)]
    if not missing:
        return [], []
    return [
        f"{stack_file}: ai-stack:ollama.gpu.driver is amd but {', '.join(missing)} does not exist here: install "
        "the amdgpu kernel driver (ROCm's amdgpu-dkms, or a kernel that ships it) and check `ls /dev/kfd /dev/dri`"
    ], []


def ollama_version(url: str) -> str | None:
    """`version` from GET <url>/api/version, or None when nothing answers (Ollama api/types.go)."""
    try:
        with urllib.request.urlopen(f"{url}/api/version", timeout=3) as reply:
            return str(json.load(reply)["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def host_ollama_problems(
    s: Settings, *, local_engine: bool, fetch: Callable[[str], str | None] = ollama_version
) -> tuple[list[str], list[str]]:
    """(problems, warnings) for `ollama.mode: host`: the host's Ollama answers, and is not older
    than the pinned image the lock and the fit were made for. host.docker.internal does not
    resolve on the host itself: it is this machine's loopback there."""
    if s.ollama.in_container:
        return [], []
    url = s.ollama.host_url
    if not local_engine:
        return [], [
            f"Docker is not on this machine, so whether the host's Ollama answers at {url} there is not checked"
        ]
    probe = f"http://{constants.LOOPBACK}:{s.ollama.host_port}" if s.ollama.host_name == HOST_GATEWAY_NAME else url
    version = fetch(probe)
    if version is None:
        return [
            f"ai-stack:ollama.mode is host but no Ollama answers at {probe}/api/version (ai-stack:ollama.hostUrl "
            f"{url}): start the Ollama app (or `ollama serve`), or correct hostUrl"
        ], []
    pinned = (pinning.parse(s.images.ollama).tag or "").removesuffix("-rocm")
    if release(pinned) and release(version) < release(pinned):
        return [], [
            f"the host's Ollama is {version}, older than the pinned image's {pinned} (ai-stack:images.ollama), "
            "which the model lock and the pull were tested with: update the Ollama app"
        ]
    return [], []
