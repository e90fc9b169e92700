"""The Docker socket proxy: the one container that mounts the socket, for Traefik to read through.

Image: the official haproxy:3.2.4-alpine (the HAProxy Tecnativa's docker-socket-proxy 0.4.1 is
built on), run with the program's own configuration (stack/render/socket_proxy.py): GET/HEAD on
the five calls Traefik's docker provider makes, 403 for anything else. `:ro` on the socket
restricts nothing (the API is a socket, not a file); the proxy is what makes Traefik's access
read-only and narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.socket_proxy import haproxy_cfg, start_command
from stack.settings import SocketProxy as SocketProxySettings

PORT = constants.SOCKET_PROXY_PORT

# Alpine's busybox wget is in the image. /_ping goes through the proxy to the daemon, so
# healthy means the socket answers too.
HEALTH = containers.Health(
    tests=["CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{PORT}/_ping || exit 1"],
    start_period="10s",
)
ROOT = "0:0"
"""The socket is root's (0660 root:docker on the host, a group id the image cannot know), and
the haproxy image runs as its `haproxy` user (docker-library/haproxy Dockerfile `USER haproxy`),
so the proxy runs as root, as Tecnativa's image does (`USER root`), with every capability
dropped: root opens the socket as its owner, which needs no DAC_OVERRIDE."""


@dataclass(frozen=True, kw_only=True)
class SocketProxyArgs:
    image: str
    settings: SocketProxySettings
    network: pulumi.Input[str]
    """The socket network: Traefik and this container, nothing else; nothing published."""


class SocketProxy(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    """tcp://docker-socket-proxy:2375, known once the proxy is healthy."""

    def __init__(self, name: str, args: SocketProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:SocketProxy", name, None, opts)
        image = containers.image(name, args.image, parent=self)
        container = containers.container(
            containers.Spec(
                name=constants.SOCKET_PROXY,
                image=image.image_id,
                limits=args.settings,
                health=HEALTH,
                networks=[containers.Attach(args.network)],
                volumes=[
                    docker.ContainerVolumeArgs(
                        host_path=constants.DOCKER_SOCKET, container_path=constants.DOCKER_SOCKET, read_only=True
                    )
                ],
                # The configuration is in the command, not an upload: an upload into a read-only
                # container is refused, and nothing in it is secret. HAProxy binds 2375 (> 1024)
                # and writes nothing but the configuration, into the tmpfs.
                entrypoints=["/bin/sh", "-c"],
                command=[start_command(haproxy_cfg())],
                user=ROOT,
                read_only=True,
                tmpfs={"/tmp": "rw,noexec,nosuid,size=1m"},
            ),
            parent=self,
        )
        self.endpoint = container.name.apply(lambda n: f"tcp://{n}:{PORT}")
        self.register_outputs({"endpoint": self.endpoint})
