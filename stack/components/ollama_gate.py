"""The Ollama gate: what an inference host publishes, on its private address alone.

HAProxy (the stack's HAProxy image, the socket proxy's) with the program's configuration
(stack/render/ollama_gate.py): a bearer token, then only the calls LiteLLM makes, forwarded to
the instance the port stands for. Ollama itself publishes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render import ollama_gate as gate
from stack.settings import Limits

HEALTH = containers.Health(
    tests=["CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{gate.HEALTH_PORT}{gate.HEALTH_URI} || exit 1"],
    start_period="10s",
)


@dataclass(frozen=True, kw_only=True)
class OllamaGateArgs:
    image: str
    limits: Limits
    instances: Sequence[str]
    """The instances' aliases on the Ollama network, in order: port `port` + i is instance i."""
    token: pulumi.Output[str]
    """The bearer token LiteLLM sends; the gate keeps only its hash."""
    address: str
    """The host's private address: every port is published there and nowhere else."""
    port: int
    """The first published port."""
    url_host: str
    """The address as a URL writes it (IPv6 in brackets)."""
    ollama_network: pulumi.Input[str]
    gate_network: pulumi.Input[str]
    """A network of its own, not internal: Docker publishes a port only through a network with a gateway."""
    host: containers.DockerHost
    metrics: Sequence[gate.MetricsRoute] = ()
    """The host's exporters the gate fronts (with monitoring), on the ports after the instances'."""
    exporters_network: pulumi.Input[str] | None = None
    """Where those exporters are (internal: the gate and them alone)."""
    wait_for: Sequence[pulumi.Resource] = ()


def _url(container: docker.Container, host: str, port: int) -> pulumi.Output[str]:
    """Built from the container's name, so whoever uses the URL waits for the gate."""
    return container.name.apply(lambda _: f"http://{host}:{port}")


class OllamaGate(pulumi.ComponentResource):
    metrics: dict[str, str]
    urls: list[pulumi.Output[str]]
    """Instance i as LiteLLM reaches it: http://<address>:<port + i>, known once the gate is healthy."""

    def __init__(self, name: str, args: OllamaGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:OllamaGate", f"{args.host.prefix}{name}", None, opts)
        host = args.host
        image = containers.image(name, args.image, parent=self, host=host)
        # A hash of a 40-character random token is no secret: shown plainly, so the diff can say
        # when it changes (a rotation) and the gate's command is readable.
        digest = pulumi.Output.unsecret(args.token.apply(gate.token_hash))
        command = digest.apply(
            lambda d: gate.start_command(gate.haproxy_cfg(list(args.instances), d, metrics=args.metrics))
        )
        frontends = len(args.instances) + len(args.metrics)
        networks = [containers.Attach(args.ollama_network), containers.Attach(args.gate_network)]
        if args.exporters_network is not None:
            networks.append(containers.Attach(args.exporters_network))
        container = containers.container(
            containers.Spec(
                name=constants.OLLAMA_GATE,
                image=image.image_id,
                limits=args.limits,
                health=HEALTH,
                networks=networks,
                ports=[
                    docker.ContainerPortArgs(internal=gate.port(i), external=args.port + i, ip=args.address)
                    for i in range(frontends)
                ],
                # The configuration is in the command (no secret in it); HAProxy binds ports above
                # 1024 as the image's own `haproxy` user and writes nothing but its configuration,
                # into the tmpfs: no capability, a read-only root filesystem.
                entrypoints=["/bin/sh", "-c"],
                command=[command],
                read_only=True,
                tmpfs={"/tmp": "rw,noexec,nosuid,size=1m"},
            ),
            parent=self,
            depends_on=args.wait_for,
            host=host,
        )
        self.urls = [_url(container, args.url_host, args.port + i) for i in range(len(args.instances))]
        self.metrics = {
            route.name: f"{args.url_host}:{args.port + k}"
            for k, route in enumerate(args.metrics, start=len(args.instances))
        }
        """Each fronted exporter as Prometheus reaches it (`address:port`, with the token)."""
        self.register_outputs({"urls": self.urls})
