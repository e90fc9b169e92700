"""The Docker socket proxy: the one container that mounts the socket, for Traefik to read through.

Image: github.com/Tecnativa/docker-socket-proxy v0.4.1 (Dockerfile: `FROM haproxy:3.2.4-alpine`,
`USER root`, haproxy.cfg rendered by docker-entrypoint.sh). Its haproxy.cfg denies every method
but GET/HEAD unless POST=1, then allows a path only when its section's variable is 1, and
denies the rest with 403. `:ro` on the socket restricts nothing (the API is a socket, not a
file); the proxy is what makes Traefik's access read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.env import env
from stack.settings import SocketProxy as SocketProxySettings

PORT = constants.SOCKET_PROXY_PORT
ENDPOINT = f"tcp://{constants.SOCKET_PROXY}:{PORT}"
"""Traefik's `--providers.docker.endpoint`."""

# What Traefik's docker provider calls (traefik pkg/provider/docker): HEAD /_ping and /version
# (API version negotiation), /containers/json and /containers/{id}/json (the labels), /events
# (watch). Every other section keeps the image's default 0, and POST stays 0: read-only.
ALLOWED = {"CONTAINERS": "1", "EVENTS": "1", "PING": "1", "VERSION": "1", "POST": "0"}
# The entrypoint binds `[::]:2375 v4v6` unless DISABLE_IPV6; the socket network is IPv4 and a
# container may have IPv6 disabled, where that bind fails.
ENV = {**ALLOWED, "DISABLE_IPV6": "1", "LOG_LEVEL": "warning"}

# Alpine's busybox wget is in the image. /_ping goes through the proxy to the daemon, so
# healthy means the socket answers too.
HEALTH = containers.Health(
    tests=["CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{PORT}/_ping || exit 1"],
    start_period="10s",
)


@dataclass(frozen=True)
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
                envs=[env(k, v) for k, v in sorted(ENV.items())],
                volumes=[
                    docker.ContainerVolumeArgs(
                        host_path=constants.DOCKER_SOCKET, container_path=constants.DOCKER_SOCKET, read_only=True
                    )
                ],
                # No capability added back: the image runs as root (`USER root`), the socket
                # belongs to root, haproxy.cfg sets no user/chroot and binds 2375 (> 1024).
                # The entrypoint's `ulimit -n 10000 ... || true` tolerates a refusal.
            ),
            parent=self,
        )
        self.endpoint = container.name.apply(lambda n: f"tcp://{n}:{PORT}")
        self.register_outputs({"endpoint": self.endpoint})
