"""Real Traefik with the program's command and labels in front of a real process on loopback.

Traefik and label-carrying containers run with host networking on the tier's private dockerd, so
Traefik reaches a loopback process at 127.0.0.1 (its docker provider uses 127.0.0.1 for a
container in host network mode with no node address). Only what a loopback run must change is
changed: entrypoint addresses (to 127.0.0.1 and free ports), the service port label (to the
process's port), a constraint label that keeps this Traefik to this test's containers on a shared
engine, the provider endpoint (the engine's socket, read-only: the proxy's rules are proven in
test_socket_proxy.py), the test's API router, no healthcheck on Traefik (its ping port moved)
and a named service on Traefik's own container (a host-network container has no port for the
default service Traefik's docker provider gives it, config.go buildServiceConfiguration).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from stack.constants import DOCKER_SOCKET
from tests.integration.it_stack import API_ROUTER_LABELS, label_map, traefik_test_command, wait_health
from tests.integration.it_support import LOOPBACK, Engine, free_port, http_request, wait_for

ADDRESS = re.compile(r"--entrypoints\.([^.]+)\.address=(?:127\.0\.0\.1)?:(\d+)$")


@dataclass
class Carrier:
    """A busybox container that only carries labels (and a healthcheck on the real process)."""

    labels: dict[str, str]
    health_url: str | None = None


@dataclass
class HostTraefik:
    ports: dict[str, int]
    command: list[str]
    sid: str
    names: list[str] = field(default_factory=list)

    @property
    def api(self) -> int:
        return self.ports["itapi"]

    def service(self, name: str) -> dict[str, Any] | None:
        reply = http_request(self.api, f"/api/http/services/{name}@docker", timeout=3)
        return reply.json() if reply.status == 200 else None  # type: ignore[no-any-return]


def host_command(declared: list[str], ports: Mapping[str, int], constraint: str) -> list[str]:
    out = []
    for arg in traefik_test_command(declared):
        m = ADDRESS.match(arg)
        if arg.startswith("--providers.docker.endpoint="):
            arg = f"--providers.docker.endpoint=unix://{DOCKER_SOCKET}"
        out.append(f"--entrypoints.{m.group(1)}.address={LOOPBACK}:{ports[m.group(1)]}" if m else arg)
    return [*out, f"--providers.docker.constraints={constraint}"]


@contextmanager
def host_traefik(
    engine: Engine,
    traefik_image: str,
    standin_image: str,
    traefik: Any,
    carriers: Mapping[str, Carrier],
    *,
    fixed_ports: Mapping[str, int] | None = None,
) -> Iterator[HostTraefik]:
    """Start the carriers and Traefik (the declared `traefik` container's command and hardening)."""
    sid = uuid.uuid4().hex[:8]
    entrypoints = sorted(
        {m.group(1) for a in traefik_test_command(traefik.inputs["command"]) if (m := ADDRESS.match(a))}
    )
    ports = {e: free_port() for e in entrypoints} | dict(fixed_ports or {})
    edge = HostTraefik(
        ports, host_command(list(traefik.inputs["command"]), ports, f"Label(`ai-stack-it.edge`,`{sid}`)"), sid
    )
    volumes: list[str] = []
    try:
        for name, carrier in carriers.items():
            cname = f"{engine.prefix}{name}-{sid}"
            args = ["create", "--name", cname, "--label", engine.session_label, "--label", f"ai-stack-it.edge={sid}"]
            args += [f for k, v in carrier.labels.items() for f in ("--label", f"{k}={v}")]
            args += ["--network", "host", "--entrypoint", "/bin/busybox"]
            if carrier.health_url:
                args += ["--health-cmd", f"wget -q -O /dev/null {carrier.health_url}"]
                args += ["--health-interval", "1s", "--health-timeout", "5s", "--health-retries", "3"]
            engine.run(*args, standin_image, "sleep", "3600")
            edge.names.append(cname)
        tname = f"{engine.prefix}traefik-host-{sid}"
        inputs = traefik.inputs
        args = ["create", "--name", tname, "--label", engine.session_label, "--network", "host", "--no-healthcheck"]
        # Its declared labels (the catch-all router: 404s with the headers) and the test's.
        own = {
            **label_map(traefik),
            **API_ROUTER_LABELS,
            "ai-stack-it.edge": sid,
            "traefik.http.services.it-none.loadbalancer.server.port": "1",
        }
        args += [f for k, v in own.items() for f in ("--label", f"{k}={v}")]
        if inputs.get("readOnly"):
            args.append("--read-only")
        caps = inputs.get("capabilities") or {}
        args += [f for cap in caps.get("drops") or [] for f in ("--cap-drop", cap)]
        args += [f for opt in inputs.get("securityOpts") or [] for f in ("--security-opt", opt)]
        for vol in inputs.get("volumes") or []:
            source = f"{engine.prefix}{vol['volumeName']}-host-{sid}"
            engine.run("volume", "create", "--label", engine.session_label, source)
            volumes.append(source)
            args += ["-v", f"{source}:{vol['containerPath']}"]
        args += ["-v", f"{engine.socket_path or DOCKER_SOCKET}:{DOCKER_SOCKET}:ro"]
        engine.run(*args, traefik_image, *edge.command)
        edge.names.append(tname)
        for name in edge.names:
            engine.run("start", name)
        for name, carrier in carriers.items():
            if carrier.health_url:
                wait_health(engine, f"{engine.prefix}{name}-{sid}", "healthy", timeout=60)
        wait_for("Traefik's API", lambda: http_request(edge.api, "/api/version", timeout=3).status == 200, timeout=60)
        yield edge
    except BaseException:
        if edge.names:
            logs = engine.run("logs", edge.names[-1], check=False)
            text = (logs.stdout + logs.stderr).decode(errors="replace")
            print("\n".join(line for line in text.splitlines() if '"RequestPath"' not in line)[-6000:])
        raise
    finally:
        if edge.names:
            engine.run("rm", "-f", "-v", *edge.names, check=False)
        if volumes:
            engine.run("volume", "rm", *volumes, check=False)
