"""Traefik v3 for the server stack: HTTPS with ACME, HTTP redirected, routes from labels."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.traefik import traefik_command
from stack.settings import Traefik as TraefikSettings


@dataclass(frozen=True)
class TraefikArgs:
    image: str
    settings: TraefikSettings
    network: pulumi.Input[str]
    network_name: str
    """The routed network's name, for the docker provider's default network."""
    protect_data: bool


class Traefik(pulumi.ComponentResource):
    def __init__(self, name: str, args: TraefikArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:Traefik", name, None, opts)
        image = containers.image(name, args.image, parent=self)
        volume = containers.data_volume(f"{name}-certs", protect=args.protect_data, parent=self)
        containers.container(
            containers.Spec(
                name=constants.TRAEFIK,
                image=image.image_id,
                limits=args.settings,
                health=containers.Health(tests=["CMD", "traefik", "healthcheck", "--ping"]),
                network=args.network,
                command=traefik_command(args.settings, network=args.network_name),
                # The router is the one container that faces the network on all interfaces.
                # Unprivileged ports inside, 80/443 on the host: Traefik needs no NET_BIND_SERVICE.
                ports=[
                    docker.ContainerPortArgs(internal=constants.TRAEFIK_HTTP_LISTEN, external=constants.TRAEFIK_HTTP),
                    docker.ContainerPortArgs(internal=constants.TRAEFIK_HTTPS_LISTEN, external=constants.TRAEFIK_HTTPS),
                ],
                volumes=[
                    # Read-only: Traefik only watches the socket for container labels.
                    docker.ContainerVolumeArgs(
                        host_path=constants.DOCKER_SOCKET, container_path=constants.DOCKER_SOCKET, read_only=True
                    ),
                    docker.ContainerVolumeArgs(volume_name=volume.name, container_path=constants.TRAEFIK_CERTS),
                ],
                cap_drop=["ALL"],
                read_only=True,
            ),
            parent=self,
        )
        self.register_outputs({})
