"""The stack's real Traefik, host-networked on the tier's dockerd, in front of one loopback process.

One routed service of the stack behind Traefik (the OIDC test's): a thin form of it_edge.py's
`host_traefik`, which has the whole recipe and the list of what a loopback run changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.integration import it_edge
from tests.integration.it_stack import label_map
from tests.integration.it_support import LOOPBACK, Engine, wait_for


@dataclass
class HostTraefik:
    ports: dict[str, int]
    """Entrypoint name -> its 127.0.0.1 port (websecure, web, itapi...)."""
    service: dict[str, Any]
    """Traefik's API view of the routed service."""


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
    container) to 127.0.0.1:`upstream_port`, once that answers /health; removed on exit."""
    port_label = f"traefik.http.services.{service}.loadbalancer.server.port"
    labels = label_map(routed)
    assert port_label in labels, sorted(labels)
    labels[port_label] = str(upstream_port)
    carrier = it_edge.Carrier(labels, f"http://{LOOPBACK}:{upstream_port}/health")
    fixed = {"websecure": websecure_port} if websecure_port is not None else None
    with it_edge.host_traefik(
        engine, traefik_image, standin_image, traefik, {f"{service}-host": carrier}, fixed_ports=fixed
    ) as edge:
        routed_service = wait_for(f"Traefik to route {service}", lambda: edge.service(service), timeout=60)
        yield HostTraefik(ports=edge.ports, service=routed_service)
