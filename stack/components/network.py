"""The stack's networks: the routed one (created or adopted), and the ones the stack owns.

- routed (`proxy` by default): Traefik and the services it routes (Open WebUI, LiteLLM), nothing
  else. Not attachable when the stack creates it: a stray `docker run --network proxy` could
  otherwise reach Open WebUI and LiteLLM around Traefik. (An `external: true` network is the
  host's own Traefik's, attachable or not as its owner made it.) IPv6 too when our Traefik
  publishes on IPv6 (`ai-stack:traefik.ipv6`).
- internal: Open WebUI -> LiteLLM, and the key job -> LiteLLM.
- datastore: LiteLLM <-> Postgres, and the backup's pg_dump step. Open WebUI is not on it.
- ollama: Ollama and what must call it (LiteLLM, the model pull).
  These three are `internal: true`: Docker gives them no gateway, so nothing on them reaches
  the outside or is reachable from it; not attachable, so no stray `docker run` joins them.
- socket (deployed Traefik only): Traefik and the Docker socket proxy, internal too.
- ollama egress: Ollama alone, not internal. The Ollama server itself downloads the models a
  pull asks for, so it needs a way out; and on the laptop Docker publishes its 127.0.0.1 port
  through it: Docker publishes no port of a container attached to internal networks only (the
  port mapping needs a network with a gateway). No other container joins it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants
from stack.containers import DockerHost
from stack.settings import Network


def _options(parent: pulumi.Resource, *, ipv6: bool, host: DockerHost | None = None) -> pulumi.ResourceOptions:
    """Every network is replaced delete-first, and an IPv4-only one tolerates a daemon that turns
    IPv6 on by itself.

    - Every network input is ForceNew (resource_docker_network.go has no Update) and the name is
      fixed: created first, the new network would clash with the old name (libnetwork
      NetworkNameError). pulumi-docker sets DeleteBeforeReplace on containers only (resources.go
      v5.1.0), so we set it here. Pulumi then deletes first whatever would be replaced with the
      network (step_generator.go calculateDependentReplacements: every container naming it in
      networks_advanced, which is ForceNew), in reverse dependency order.
    - `ipv6` is Optional and not Computed, and Read stores EnableIPv6. The create sends no
      EnableIPv6 for false (GetOk), so a daemon.json `default-network-opts` that enables IPv6
      gives the network IPv6 anyway, and every `up` would replace it: ignored where we send false.
    """
    return (host or DockerHost()).opts(parent, delete_before_replace=True, ignore_changes=[] if ipv6 else ["ipv6"])


def _owned(
    name: str, docker_name: str, *, internal: bool, parent: pulumi.Resource, host: DockerHost | None = None
) -> docker.Network:
    return docker.Network(
        f"{host.prefix if host else ''}{name}",
        name=docker_name,
        driver="bridge",
        internal=internal,
        attachable=False,
        ipv6=False,
        opts=_options(parent, ipv6=False, host=host),
    )


@dataclass(frozen=True, kw_only=True)
class NetworksArgs:
    network: Network
    """`ai-stack:network`: the routed network's name, created or adopted."""
    socket: bool
    """A socket network for the deployed Traefik and its socket proxy."""
    ipv6: bool = False


class Networks(pulumi.ComponentResource):
    """Every network a container of the stack joins, by role."""

    routed: pulumi.Output[str]
    internal: pulumi.Output[str]
    datastore: pulumi.Output[str]
    ollama: pulumi.Output[str]
    socket: pulumi.Output[str] | None
    ollama_egress: pulumi.Output[str]

    def __init__(self, name: str, args: NetworksArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # The type and the routed network's resource name predate the other networks: changing
        # either would change its URN, and Pulumi would replace the network.
        super().__init__("ai-stack:services:ProxyNetwork", name, None, opts)
        socket, ipv6 = args.socket, args.ipv6
        net_args = args.network
        if net_args.external:
            # Hosts that already run Traefik own the network; we only look it up. The invoke
            # fails with the network's name when it is missing.
            found = docker.get_network_output(name=net_args.name, opts=pulumi.InvokeOutputOptions(parent=self))
            self.routed = found.name
        else:
            # `ipv6`: Traefik publishes 80/443 on `::` too. An IPv6 address of its own on this network
            # lets the engine map IPv6 clients straight to it: their real addresses reach Traefik's
            # rate limits and access log, and the binding survives `userland-proxy: false` (without
            # docker-proxy an IPv6 bind to an IPv4-only container is dropped). No subnet is sent:
            # Docker 27+ allocates a ULA /64 (moby#47853), and ipam_config is Computed.
            net = docker.Network(
                name,
                name=net_args.name,
                driver="bridge",
                attachable=False,
                ipv6=ipv6,
                opts=_options(self, ipv6=ipv6),
            )
            self.routed = net.name
        self.internal = _owned("internal", constants.INTERNAL_NETWORK, internal=True, parent=self).name
        self.datastore = _owned("datastore", constants.DATASTORE_NETWORK, internal=True, parent=self).name
        self.ollama = _owned("ollama-network", constants.OLLAMA_NETWORK, internal=True, parent=self).name
        self.socket = _owned("socket", constants.SOCKET_NETWORK, internal=True, parent=self).name if socket else None
        self.ollama_egress = _owned("ollama-egress", constants.OLLAMA_EGRESS_NETWORK, internal=False, parent=self).name
        self.register_outputs({"routed": self.routed, "internal": self.internal})


@dataclass(frozen=True, kw_only=True)
class OllamaNetworksArgs:
    host: DockerHost
    exporters: bool = False
    """The host is monitored: an internal network for its exporters and the gate alone."""


class OllamaNetworks(pulumi.ComponentResource):
    """An inference host's networks, named as on the main host (each engine has its own):

    - ollama (internal): the instances, their pulls and the gate;
    - ollama egress: the instances alone (model downloads);
    - gate: the gate alone, not internal, so Docker can publish its ports (on the host's private
      address); nothing that answers without the token is on it;
    - exporters (internal, with monitoring): the host's exporters and the gate, which fronts them.
    """

    ollama: pulumi.Output[str]
    egress: pulumi.Output[str]
    gate: pulumi.Output[str]
    exporters: pulumi.Output[str] | None

    def __init__(self, name: str, args: OllamaNetworksArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        host = args.host
        super().__init__("ai-stack:services:OllamaNetworks", f"{host.prefix}{name}", None, opts)
        self.ollama = _owned("ollama-network", constants.OLLAMA_NETWORK, internal=True, parent=self, host=host).name
        self.egress = _owned(
            "ollama-egress", constants.OLLAMA_EGRESS_NETWORK, internal=False, parent=self, host=host
        ).name
        self.gate = _owned(
            "ollama-gate-network", constants.OLLAMA_GATE_NETWORK, internal=False, parent=self, host=host
        ).name
        self.exporters = (
            _owned("exporters", constants.EXPORTERS_NETWORK, internal=True, parent=self, host=host).name
            if args.exporters
            else None
        )
        self.register_outputs({"ollama": self.ollama})
