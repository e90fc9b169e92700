"""Traefik's static configuration as CLI arguments."""

from __future__ import annotations

from stack import constants
from stack.settings import Traefik


def v6(entrypoint: str) -> str:
    """The entrypoint that takes the IPv6 binds of `entrypoint` (see constants.TRAEFIK_HTTP_V6)."""
    return f"{entrypoint}-v6"


def tls_entrypoints(t: Traefik, *, deployed: bool) -> list[str]:
    """The entrypoints routers listen on: the TLS one, and its IPv6 twin on our own Traefik."""
    return [t.entrypoint, v6(t.entrypoint)] if deployed and t.ipv6 else [t.entrypoint]


def _ipv6_entrypoints(t: Traefik) -> list[str]:
    """The same HTTP redirect and TLS as `web` and the TLS entrypoint, on ports of their own."""
    tls, web = v6(t.entrypoint), v6("web")
    return [
        f"--entrypoints.{web}.address=:{constants.TRAEFIK_HTTP_V6}",
        # To the host's HTTPS port, as `web` does (a name would resolve to an in-container port).
        f"--entrypoints.{web}.http.redirections.entrypoint.to=:{constants.TRAEFIK_HTTPS}",
        f"--entrypoints.{web}.http.redirections.entrypoint.scheme=https",
        f"--entrypoints.{tls}.address=:{constants.TRAEFIK_HTTPS_V6}",
        f"--entrypoints.{tls}.http.tls=true",
        f"--entrypoints.{tls}.transport.respondingTimeouts.readTimeout=600s",
    ]


def healthcheck_command() -> list[str]:
    """`traefik healthcheck` reads its own static configuration: it needs the ping entrypoint's
    address to call HEAD http://<address>/ping (cmd/healthcheck/healthcheck.go, Do)."""
    return ["CMD", "traefik", "healthcheck", "--ping", f"--entrypoints.traefik.address={constants.TRAEFIK_ADMIN}"]


def metrics_flags() -> list[str]:
    """Prometheus metrics on an entrypoint of their own (traefik pkg/types/metrics.go, v3):
    `metrics.prometheus.entryPoint` serves /metrics there through an internal router; no
    router of the stack uses it and it is never published, so only the monitoring network
    reaches it. Services' and entrypoints' labels are on by default; routers' add the host."""
    return [
        f"--entrypoints.metrics.address=:{constants.TRAEFIK_METRICS}",
        "--metrics.prometheus=true",
        "--metrics.prometheus.entrypoint=metrics",
        "--metrics.prometheus.addrouterslabels=true",
    ]


def traefik_command(t: Traefik, *, network: str, endpoint: str, metrics: bool = False) -> list[str]:
    """The command line of the deployed Traefik: docker provider (through the socket proxy at
    `endpoint`), HTTP→HTTPS, ACME over HTTP-01, a JSON access log on stdout.

    Entrypoints listen on unprivileged ports inside the container; the component publishes them
    on the host's 80 and 443 (Let's Encrypt's HTTP-01 request reaches `web` through host port 80).
    """
    tls = t.entrypoint
    resolver = f"--certificatesresolvers.{t.cert_resolver}.acme"
    return [
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
        "--log.level=INFO",
        # Ping (the healthcheck) on Traefik's own `traefik` entrypoint, bound to the container's
        # loopback: nothing on the routed network reaches it.
        "--ping=true",
        f"--entrypoints.traefik.address={constants.TRAEFIK_ADMIN}",
        # One line per request, JSON, on stdout (Docker's json-file log, rotated). Request
        # headers are dropped by default (accesslog.fields.headers.defaultmode=drop), and so are
        # query strings (`?key=…` routes): RequestPath is logged without its query
        # (pkg/middlewares/accesslog/logger.go, KeepQueryParameters).
        "--accesslog=true",
        "--accesslog.format=json",
        "--accesslog.fields.queryparameters.defaultmode=drop",
        "--providers.docker=true",
        f"--providers.docker.endpoint={endpoint}",
        "--providers.docker.exposedbydefault=false",
        f"--providers.docker.network={network}",
        f"--entrypoints.web.address=:{constants.TRAEFIK_HTTP_LISTEN}",
        # To the host's HTTPS port, not the entrypoint's: redirecting to the entrypoint by name would
        # send clients to its in-container port (traefik pkg/provider/traefik/internal.go
        # getRedirectPort: a ":<port>" target is used as is, a name resolves to that entrypoint's address).
        f"--entrypoints.web.http.redirections.entrypoint.to=:{constants.TRAEFIK_HTTPS}",
        "--entrypoints.web.http.redirections.entrypoint.scheme=https",
        f"--entrypoints.{tls}.address=:{constants.TRAEFIK_HTTPS_LISTEN}",
        f"--entrypoints.{tls}.http.tls=true",
        # Uploads of large documents to Open WebUI outlast the 60s default.
        f"--entrypoints.{tls}.transport.respondingTimeouts.readTimeout=600s",
        f"{resolver}.email={t.acme_email}",
        f"{resolver}.storage={constants.TRAEFIK_CERTS}/acme.json",
        f"{resolver}.httpchallenge.entrypoint=web",
        *(_ipv6_entrypoints(t) if t.ipv6 else []),
        *(metrics_flags() if metrics else []),
    ]
