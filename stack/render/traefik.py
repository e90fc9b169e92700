"""Traefik's static configuration as CLI arguments."""

from __future__ import annotations

from stack import constants
from stack.settings import Traefik


def traefik_command(t: Traefik, *, network: str) -> list[str]:
    """The command line of the deployed Traefik: docker provider, HTTP→HTTPS, ACME over HTTP-01.

    Entrypoints listen on unprivileged ports inside the container; the component publishes them
    on the host's 80 and 443 (Let's Encrypt's HTTP-01 request reaches `web` through host port 80).
    """
    tls = t.entrypoint
    resolver = f"--certificatesresolvers.{t.cert_resolver}.acme"
    return [
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
        "--log.level=INFO",
        "--ping=true",
        "--providers.docker=true",
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
    ]
