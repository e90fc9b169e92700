"""Traefik v3 for the server stack: HTTPS with ACME, HTTP redirected, routes from labels."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stack import common, constants
from stack.settings import Settings


def traefik_command(settings: Settings) -> list[str]:
    """Traefik's static configuration as CLI arguments (a pure function, tested without mocks)."""
    t = settings.traefik
    tls = t.entrypoint
    resolver = f"--certificatesresolvers.{t.cert_resolver}.acme"
    return [
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
        "--log.level=INFO",
        "--ping=true",
        "--providers.docker=true",
        "--providers.docker.exposedbydefault=false",
        f"--providers.docker.network={settings.network.name}",
        f"--entrypoints.web.address=:{constants.TRAEFIK_HTTP}",
        f"--entrypoints.web.http.redirections.entrypoint.to={tls}",
        "--entrypoints.web.http.redirections.entrypoint.scheme=https",
        f"--entrypoints.{tls}.address=:{constants.TRAEFIK_HTTPS}",
        f"--entrypoints.{tls}.http.tls=true",
        # Uploads of large documents to Open WebUI outlast the 60s default.
        f"--entrypoints.{tls}.transport.respondingTimeouts.readTimeout=600s",
        f"{resolver}.email={t.acme_email}",
        f"{resolver}.storage={constants.TRAEFIK_CERTS}/acme.json",
        f"{resolver}.httpchallenge.entrypoint=web",
    ]


class Traefik(pulumi.ComponentResource):
    container: docker.Container
    volume: docker.Volume

    def __init__(
        self, name: str, settings: Settings, network: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-stack:services:Traefik", name, None, opts)
        image = common.image(name, settings.images.traefik, parent=self)
        self.volume = common.data_volume(f"{name}-certs", protect=settings.protects_data, parent=self)
        self.container = common.container(
            common.Spec(
                name=constants.TRAEFIK,
                image=image.image_id,
                limits=settings.traefik,
                health=common.Health(tests=["CMD", "traefik", "healthcheck", "--ping"]),
                network=network,
                command=traefik_command(settings),
                # The router is the one container that faces the network on all interfaces.
                ports=[
                    docker.ContainerPortArgs(internal=constants.TRAEFIK_HTTP, external=constants.TRAEFIK_HTTP),
                    docker.ContainerPortArgs(internal=constants.TRAEFIK_HTTPS, external=constants.TRAEFIK_HTTPS),
                ],
                volumes=[
                    # Read-only: Traefik only watches the socket for container labels.
                    docker.ContainerVolumeArgs(
                        host_path=constants.DOCKER_SOCKET, container_path=constants.DOCKER_SOCKET, read_only=True
                    ),
                    docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=constants.TRAEFIK_CERTS),
                ],
                cap_drop=["ALL"],
                cap_add=["NET_BIND_SERVICE"],
                read_only=True,
            ),
            parent=self,
        )
        self.register_outputs({"name": self.container.name})
