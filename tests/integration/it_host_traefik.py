"""The stack's real Traefik, host-networked on the tier's dockerd, in front of a loopback process.

The pattern of tests/integration/test_open_webui.py's `host_traefik`, as a helper: Traefik runs
with the program's declared command and hardening, host networking, so it reaches a process on
127.0.0.1; a busybox container carries the service's declared labels (its port label pointed at
the process) and the declared health probe, so Traefik routes only while the process is healthy.
Only the entrypoint addresses (to 127.0.0.1) and the service port label change; a constraint
label keeps this Traefik to its own carrier on a shared engine.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stack.constants import DOCKER_SOCKET
from tests.integration.it_stack import TRAEFIK_API_PORT, label_map, traefik_test_command, wait_health
from tests.integration.it_support import LOOPBACK, Engine, free_port, http_request, wait_for


@dataclass
class HostTraefik:
    ports: dict[str, int]
    """Entrypoint name -> its 127.0.0.1 port (websecure, web, traefik...)."""
    service: dict[str, Any]
    """Traefik's API view of the routed service."""


def _command(declared: list[str], ports: dict[str, int], constraint: str) -> list[str]:
    out = []
    for arg in traefik_test_command(declared):
        m = re.match(r"--entrypoints\.([^.]+)\.address=:(\d+)$", arg)
        if arg.startswith("--providers.docker.endpoint="):
            # The stack reads Docker through its socket proxy (test_least_privilege.py); this
            # host-network Traefik reads the tier's engine socket, read-only.
            arg = f"--providers.docker.endpoint=unix://{DOCKER_SOCKET}"
        out.append(f"--entrypoints.{m.group(1)}.address={LOOPBACK}:{ports[m.group(1)]}" if m else arg)
    return [*out, f"--providers.docker.constraints={constraint}"]


@contextlib.contextmanager
def host_traefik(
    engine: Engine,
    *,
    traefik_image: str,
    standin_image: str,
    traefik: Any,
    routed: Any,
    service: str,
    upstream_port: int,
    websecure_port: int | None = None,
) -> Iterator[HostTraefik]:
    """Traefik (the declared `traefik` container) routing `service` (the declared `routed`
    container) to 127.0.0.1:`upstream_port`; stopped and removed on exit."""
    sid = uuid.uuid4().hex[:8]
    entrypoints = sorted(
        {
            m.group(1)
            for a in traefik_test_command(traefik.inputs["command"])
            if (m := re.match(r"--entrypoints\.([^.]+)\.address=", a))
        }
    )
    ports = {e: free_port() for e in entrypoints}
    if websecure_port is not None:
        ports["websecure"] = websecure_port
    command = _command(list(traefik.inputs["command"]), ports, f"Label(`ai-stack-it.host`,`{sid}`)")
    port_label = f"traefik.http.services.{service}.loadbalancer.server.port"
    labels = label_map(routed)
    assert port_label in labels, sorted(labels)
    labels[port_label] = str(upstream_port)
    carrier = f"{engine.prefix}{service}-host-{sid}"
    args = ["create", "--name", carrier, "--label", engine.session_label, "--label", f"ai-stack-it.host={sid}"]
    args += [f for k, v in labels.items() for f in ("--label", f"{k}={v}")]
    args += ["--network", "host", "--entrypoint", "/bin/busybox"]
    args += ["--health-cmd", f"wget -q -O /dev/null http://{LOOPBACK}:{upstream_port}/health"]
    args += ["--health-interval", "1s", "--health-timeout", "5s", "--health-retries", "3"]
    args += [standin_image, "sleep", "3600"]
    engine.run(*args)

    name = f"{engine.prefix}traefik-host-{sid}"
    inputs = traefik.inputs
    args = ["create", "--name", name, "--label", engine.session_label, "--network", "host"]
    if inputs.get("readOnly"):
        args.append("--read-only")
    caps = inputs.get("capabilities") or {}
    args += [f for cap in caps.get("drops") or [] for f in ("--cap-drop", cap)]
    args += [f for cap in caps.get("adds") or [] for f in ("--cap-add", cap)]
    args += [f for opt in inputs.get("securityOpts") or [] for f in ("--security-opt", opt)]
    volumes = []
    for vol in inputs.get("volumes") or []:
        if vol.get("hostPath", "").endswith("docker.sock"):
            continue
        source = f"{engine.prefix}{vol['volumeName']}-host-{sid}"
        engine.run("volume", "create", "--label", engine.session_label, source)
        volumes.append(source)
        args += ["-v", f"{source}:{vol['containerPath']}{':ro' if vol.get('readOnly') else ''}"]
    args += ["-v", f"{engine.socket_path or DOCKER_SOCKET}:{DOCKER_SOCKET}:ro"]
    args += [traefik_image, *command]
    engine.run(*args)
    try:
        engine.run("start", carrier)
        engine.run("start", name)
        wait_health(engine, carrier, "healthy", timeout=60)
        api = ports.get("traefik", TRAEFIK_API_PORT)

        def routed_service() -> dict[str, Any] | None:
            reply = http_request(api, f"/api/http/services/{service}@docker", timeout=3)
            return reply.json() if reply.status == 200 else None

        yield HostTraefik(ports=ports, service=wait_for(f"Traefik to route {service}", routed_service, timeout=60))
    except BaseException:
        print(engine.run("logs", name, check=False).stderr.decode(errors="replace")[-4000:])
        raise
    finally:
        engine.run("rm", "-f", "-v", name, carrier, check=False)
        if volumes:
            engine.run("volume", "rm", *volumes, check=False)
