"""The shared `proxy` bridge network: created by the stack, or adopted when it already exists."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stack.settings import Network


class ProxyNetwork(pulumi.ComponentResource):
    """Every service joins this network; Traefik reaches routed containers through it."""

    name: pulumi.Output[str]

    def __init__(self, name: str, args: Network, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:ProxyNetwork", name, None, opts)
        if args.external:
            # Hosts that already run Traefik own the network; we only look it up. The invoke
            # fails with the network's name when it is missing.
            found = docker.get_network_output(name=args.name, opts=pulumi.InvokeOutputOptions(parent=self))
            self.name = found.name
        else:
            net = docker.Network(
                name,
                name=args.name,
                driver="bridge",
                attachable=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.name = net.name
        self.register_outputs({"name": self.name})
