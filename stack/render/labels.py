"""Traefik v3 docker-provider labels, as a pure function."""

from __future__ import annotations

from dataclasses import dataclass


def traefik_labels(
    *,
    router: str,
    host: str,
    port: int,
    network: str,
    entrypoint: str,
    cert_resolver: str,
) -> list[tuple[str, str]]:
    """Labels that route `Host(host)` on a TLS entrypoint to `port` of the labelled container.

    `traefik.docker.network` pins the network Traefik uses to reach the container, which
    matters as soon as a container is on more than one network. Sorted for quiet diffs.
    """
    if "`" in host or not host:
        raise ValueError(f"invalid host for router {router!r}: {host!r}")
    r = f"traefik.http.routers.{router}"
    labels = {
        "traefik.enable": "true",
        "traefik.docker.network": network,
        f"{r}.rule": f"Host(`{host}`)",
        f"{r}.entrypoints": entrypoint,
        f"{r}.tls": "true",
        f"{r}.tls.certresolver": cert_resolver,
        f"{r}.service": router,
        f"traefik.http.services.{router}.loadbalancer.server.port": str(port),
    }
    return sorted(labels.items())


@dataclass(frozen=True)
class Routing:
    """How routed services are labelled: the network Traefik reaches them on, its TLS entrypoint
    and certificate resolver."""

    network: str
    entrypoint: str
    cert_resolver: str


def route_labels(routing: Routing | None, *, router: str, host: str | None, port: int) -> list[tuple[str, str]]:
    """A service's labels under the stack's routing; none when the stack is not routed."""
    if routing is None or host is None:
        return []
    return traefik_labels(
        router=router,
        host=host,
        port=port,
        network=routing.network,
        entrypoint=routing.entrypoint,
        cert_resolver=routing.cert_resolver,
    )
