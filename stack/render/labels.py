"""Traefik v3 docker-provider labels, as a pure function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stack.settings import RateLimit


def edge_middlewares(router: str, *, rate_limit: RateLimit, hsts_seconds: int) -> dict[str, str]:
    """Two middlewares of the router's own, declared on its container (docker provider):

    - `<router>-ratelimit`: Traefik's ratelimit, per client IP (the default source criterion);
      over `burst` the client gets 429 Too Many Requests;
    - `<router>-headers`: HSTS and the usual browser hardening headers on every response.
    """
    rl = f"traefik.http.middlewares.{router}-ratelimit.ratelimit"
    hd = f"traefik.http.middlewares.{router}-headers.headers"
    return {
        f"{rl}.average": str(rate_limit.average),
        f"{rl}.burst": str(rate_limit.burst),
        f"{rl}.period": rate_limit.period,
        f"{hd}.stsSeconds": str(hsts_seconds),
        f"{hd}.stsIncludeSubdomains": "true",
        f"{hd}.contentTypeNosniff": "true",
        f"{hd}.frameDeny": "true",
        f"{hd}.referrerPolicy": "strict-origin-when-cross-origin",
        f"traefik.http.routers.{router}.middlewares": f"{router}-ratelimit,{router}-headers",
    }


def traefik_labels(
    *,
    router: str,
    host: str,
    port: int,
    network: str,
    entrypoints: Sequence[str],
    cert_resolver: str,
    rate_limit: RateLimit,
    hsts_seconds: int,
) -> list[tuple[str, str]]:
    """Labels that route `Host(host)` on the TLS entrypoints to `port` of the labelled container,
    through its rate limit and security headers.

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
        f"{r}.entrypoints": ",".join(entrypoints),
        f"{r}.tls": "true",
        f"{r}.tls.certresolver": cert_resolver,
        f"{r}.service": router,
        f"traefik.http.services.{router}.loadbalancer.server.port": str(port),
        **edge_middlewares(router, rate_limit=rate_limit, hsts_seconds=hsts_seconds),
    }
    return sorted(labels.items())


@dataclass(frozen=True)
class Routing:
    """How routed services are labelled: the network Traefik reaches them on, its TLS
    entrypoints, certificate resolver and HSTS max-age."""

    network: str
    entrypoints: tuple[str, ...]
    cert_resolver: str
    hsts_seconds: int


def route_labels(
    routing: Routing | None, *, router: str, host: str | None, port: int, rate_limit: RateLimit
) -> list[tuple[str, str]]:
    """A service's labels under the stack's routing; none when the stack is not routed."""
    if routing is None or host is None:
        return []
    return traefik_labels(
        router=router,
        host=host,
        port=port,
        network=routing.network,
        entrypoints=routing.entrypoints,
        cert_resolver=routing.cert_resolver,
        rate_limit=rate_limit,
        hsts_seconds=routing.hsts_seconds,
    )
