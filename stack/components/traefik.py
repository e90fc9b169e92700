"""Traefik v3 for the server stack: HTTPS with ACME, HTTP redirected, routes from labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.components.socket_proxy import ENDPOINT
from stack.render.labels import catch_all_labels
from stack.render.traefik import healthcheck_command, tls_entrypoints, traefik_command
from stack.settings import Traefik as TraefikSettings


def edge_ports(t: TraefikSettings) -> list[docker.ContainerPortArgs]:
    """80 and 443 on every IPv4 interface and, with `ipv6`, on `::` to entrypoints of their own.

    The provider's `ip` defaults to 0.0.0.0, which Docker binds on IPv4 only (kreuzwerker#131,
    moby/libnetwork#2607). Two bindings of one container port come back in no fixed order and
    replace the container on every `up` (kreuzwerker#909), so each bind has its own port inside.
    """
    ports = [
        docker.ContainerPortArgs(internal=constants.TRAEFIK_HTTP_LISTEN, external=constants.TRAEFIK_HTTP),
        docker.ContainerPortArgs(internal=constants.TRAEFIK_HTTPS_LISTEN, external=constants.TRAEFIK_HTTPS),
    ]
    if t.ipv6:
        ports += [
            docker.ContainerPortArgs(
                internal=constants.TRAEFIK_HTTP_V6, external=constants.TRAEFIK_HTTP, ip=constants.IPV6_ANY
            ),
            docker.ContainerPortArgs(
                internal=constants.TRAEFIK_HTTPS_V6, external=constants.TRAEFIK_HTTPS, ip=constants.IPV6_ANY
            ),
        ]
    # Read back sorted by container port (flattenContainerPorts): send them in that order.
    return sorted(ports, key=lambda p: int(p.internal))  # type: ignore[arg-type]


@dataclass(frozen=True)
class TraefikArgs:
    image: str
    settings: TraefikSettings
    network: pulumi.Input[str]
    network_name: str
    """The routed network's name, for the docker provider's default network."""
    socket_network: pulumi.Input[str]
    """Shared with the Docker socket proxy alone."""
    protect_data: bool
    wait_for: Sequence[pulumi.Resource] = field(default=())
    """The socket proxy: Traefik starts once it answers."""
    metrics_network: pulumi.Input[str] | None = None
    """With monitoring: Prometheus scrapes the `metrics` entrypoint over this network."""


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
                health=containers.Health(tests=healthcheck_command()),
                networks=[
                    containers.Attach(args.network),
                    containers.Attach(args.socket_network),
                    *([containers.Attach(args.metrics_network)] if args.metrics_network is not None else []),
                ],
                command=traefik_command(
                    args.settings,
                    network=args.network_name,
                    endpoint=ENDPOINT,
                    metrics=args.metrics_network is not None,
                ),
                # The router is the one container that faces the network on all interfaces.
                # Unprivileged ports inside, 80/443 on the host: Traefik needs no NET_BIND_SERVICE.
                ports=edge_ports(args.settings),
                # No Docker socket: the docker provider reads through the socket proxy.
                volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=constants.TRAEFIK_CERTS)],
                read_only=True,
                # Its own router for whatever no service router takes: a 404 with the headers.
                labels=catch_all_labels(
                    network=args.network_name,
                    entrypoints=tls_entrypoints(args.settings, deployed=True),
                    cert_resolver=args.settings.cert_resolver,
                    hsts_seconds=args.settings.hsts_seconds,
                ),
            ),
            parent=self,
            depends_on=args.wait_for,
        )
        self.register_outputs({})
