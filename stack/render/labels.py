"""Traefik v3 docker-provider labels, as a pure function."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from stack.settings import RateLimit


def header_labels(name: str, *, hsts_seconds: int, csp: str | None = None) -> dict[str, str]:
    """A headers middleware `<name>`: HSTS and the usual browser hardening headers."""
    hd = f"traefik.http.middlewares.{name}.headers"
    labels = {
        f"{hd}.stsSeconds": str(hsts_seconds),
        f"{hd}.stsIncludeSubdomains": "true",
        f"{hd}.contentTypeNosniff": "true",
        f"{hd}.frameDeny": "true",
        f"{hd}.referrerPolicy": "strict-origin-when-cross-origin",
    }
    if csp:
        labels[f"{hd}.contentSecurityPolicy"] = csp
    return labels


def edge_middlewares(
    router: str, *, rate_limit: RateLimit, hsts_seconds: int, csp: str | None = None
) -> dict[str, str]:
    """Two middlewares of the router's own, declared on its container (docker provider):

    - `<router>-headers`: HSTS and the browser hardening headers (and the service's
      Content-Security-Policy) on every response. First in the chain: the headers middleware
      sets them before calling the next handler (unrolled/secure's Process), so the rate
      limit's own 429 carries them too;
    - `<router>-ratelimit`: Traefik's ratelimit, per client IP (the default source criterion);
      over `burst` the client gets 429 Too Many Requests.
    """
    rl = f"traefik.http.middlewares.{router}-ratelimit.ratelimit"
    return {
        f"{rl}.average": str(rate_limit.average),
        f"{rl}.burst": str(rate_limit.burst),
        f"{rl}.period": rate_limit.period,
        **header_labels(f"{router}-headers", hsts_seconds=hsts_seconds, csp=csp),
    }


@dataclass(frozen=True)
class PathRule:
    """One entry of a router's path allow-list: `Path` (exact), `PathPrefix` or `PathRegexp`."""

    kind: Literal["Path", "PathPrefix", "PathRegexp"]
    value: str

    def rule(self) -> str:
        return f"{self.kind}(`{self.value}`)"

    def matches(self, path: str) -> bool:
        """What Traefik's matcher of the same name does with a request path (pkg/muxer/http)."""
        if self.kind == "Path":
            return path == self.value
        if self.kind == "PathPrefix":
            return path.startswith(self.value)
        return re.search(self.value, path) is not None


def host_rule(host: str, paths: Sequence[PathRule] = (), client_ips: Sequence[str] = ()) -> str:
    """`Host(…)`, narrowed to the path allow-list and/or the client address ranges."""
    rule = f"Host(`{host}`)"
    if paths:
        rule += " && (" + " || ".join(p.rule() for p in paths) + ")"
    if client_ips:
        rule += " && (" + " || ".join(f"ClientIP(`{ip}`)" for ip in client_ips) + ")"
    return rule


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
    paths: Sequence[PathRule] = (),
    admin_ranges: Sequence[str] = (),
    csp: str | None = None,
) -> list[tuple[str, str]]:
    """Labels that route `Host(host)` (narrowed to `paths` when given) on the TLS entrypoints to
    `port` of the labelled container, through its security headers and rate limit.

    With `admin_ranges`, a second router `<router>-admin` routes every path of the host, but
    only for clients in those address ranges (Traefik's ClientIP matcher, on the connection's
    remote address, not a forwarded header).

    `traefik.docker.network` pins the network Traefik uses to reach the container, which
    matters as soon as a container is on more than one network. Sorted for quiet diffs.
    """
    if "`" in host or not host:
        raise ValueError(f"invalid host for router {router!r}: {host!r}")
    labels = {
        "traefik.enable": "true",
        "traefik.docker.network": network,
        f"traefik.http.services.{router}.loadbalancer.server.port": str(port),
    }
    routers = {router: host_rule(host, paths)}
    if admin_ranges:
        routers[f"{router}-admin"] = host_rule(host, (), admin_ranges)
    for name, rule in routers.items():
        r = f"traefik.http.routers.{name}"
        labels |= {
            f"{r}.rule": rule,
            f"{r}.entrypoints": ",".join(entrypoints),
            f"{r}.tls": "true",
            f"{r}.tls.certresolver": cert_resolver,
            f"{r}.service": router,
            f"{r}.middlewares": f"{router}-headers,{router}-ratelimit",
        }
    labels |= edge_middlewares(router, rate_limit=rate_limit, hsts_seconds=hsts_seconds, csp=csp)
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
    routing: Routing | None,
    *,
    router: str,
    host: str | None,
    port: int,
    rate_limit: RateLimit,
    paths: Sequence[PathRule] = (),
    admin_ranges: Sequence[str] = (),
    csp: str | None = None,
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
        paths=paths,
        admin_ranges=admin_ranges,
        csp=csp,
    )


CATCH_ALL = "catch-all"
NOT_FOUND = "catch-all-404"


def catch_all_labels(
    *, network: str, entrypoints: Sequence[str], cert_resolver: str, hsts_seconds: int
) -> list[tuple[str, str]]:
    """On the deployed Traefik's own container: a lowest-priority router for every request no
    service router takes (an unknown host, a refused LiteLLM path), so Traefik's 404 carries the
    security headers too. Traefik answers a request no router matches with a bare 404 outside
    any middleware chain; this router's service, noop@internal, answers 418
    (pkg/server/service/internalhandler.go), which the errors middleware rewrites to 404
    (statusRewrites, pkg/middlewares/customerrors/custom_errors.go) with an empty body. The
    resolver is named like on every router (the pack requires it); a rule without a host asks
    it for no certificate."""
    r = f"traefik.http.routers.{CATCH_ALL}"
    er = f"traefik.http.middlewares.{NOT_FOUND}.errors"
    labels = {
        "traefik.enable": "true",
        "traefik.docker.network": network,
        f"{r}.rule": "PathPrefix(`/`)",
        f"{r}.priority": "1",
        f"{r}.entrypoints": ",".join(entrypoints),
        f"{r}.tls": "true",
        f"{r}.tls.certresolver": cert_resolver,
        f"{r}.service": "noop@internal",
        f"{r}.middlewares": f"{CATCH_ALL}-headers,{NOT_FOUND}",
        f"{er}.status": "418",
        f"{er}.service": "noop@internal",
        f"{er}.statusRewrites.418": "404",
        **header_labels(f"{CATCH_ALL}-headers", hsts_seconds=hsts_seconds),
    }
    return sorted(labels.items())
