"""The Ollama side of the composition root: each site's instances, pulls and gate.

Called by stack/program.py alone (the one place that wires components); split out to keep each
module small. A site is a host that runs Ollama (stack/settings/placement.py): the main host's
instances sit on its Ollama network; each inference host gets its own Docker provider,
networks, instances, pulls and a gate published on its private address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker

from stack import constants
from stack.components.litellm import OllamaEndpoint
from stack.components.model_pull import ModelPull, ModelPullArgs
from stack.components.network import Networks, OllamaNetworks, OllamaNetworksArgs
from stack.components.ollama import HostOllama, HostOllamaArgs, Ollama, OllamaArgs
from stack.components.ollama_gate import OllamaGate, OllamaGateArgs
from stack.containers import MAIN_HOST, DockerHost
from stack.models.lock import display_name, load_lock
from stack.render import ollama_gate as gate_cfg
from stack.settings import Settings
from stack.settings.checks_gpu import ollama_image
from stack.settings.ollama import HOST_GATEWAY_NAME, Gpu
from stack.settings.placement import Site
from stack.settings.services import GATE_LIMITS
from stack.settings.units import seconds

HOST_GATEWAY = "host-gateway"
"""Docker's special value for an extra host: the host's address as the engine sees it (its
--host-gateway-ip, by default the default bridge's gateway; Docker Desktop answers it too)."""


def gpu_groups(gpu: Gpu | None) -> list[str]:
    """The numeric host groups an AMD Ollama gets (the settings read them from this machine
    when they were not set); none for any other GPU or the CPU."""
    if gpu is None or gpu.driver != "amd":
        return []
    return [str(g) for g in sorted(set(gpu.groups or []))]


def provider(s: Settings, site: Site) -> docker.Provider:
    """An inference host's Docker engine, named by its key (how the pack and the gate tell hosts
    apart). `host` set explicitly, so DOCKER_HOST never applies to it."""
    h = s.inference_hosts[str(site.key)]
    return docker.Provider(str(site.key), host=h.docker, ssh_opts=h.ssh_opts or None, cert_path=h.cert_path)


@dataclass(frozen=True)
class OllamaHost:
    """One host that runs Ollama containers, for what is added per host (the exporters): its
    DockerHost (label and provider: pass `host` on), its site, its Ollama network and its
    instances' container names with their GPUs; on a monitored inference host, the exporters'
    network and each exporter as the gate publishes it (`address:port`)."""

    host: DockerHost
    site: Site
    ollama_network: pulumi.Input[str]
    instances: tuple[tuple[str, Gpu | None], ...]
    exporters_network: pulumi.Input[str] | None = None
    published_exporters: dict[str, str] = field(default_factory=dict)


@dataclass
class Served:
    """What the Ollama sites give the rest of the stack."""

    endpoints: list[OllamaEndpoint] = field(default_factory=list)
    pulls: list[ModelPull] = field(default_factory=list)
    instances: list[dict[str, Any]] = field(default_factory=list)
    """The `ollamaInstances` output: host, container, URL from outside (if any), models."""
    hosts: list[OllamaHost] = field(default_factory=list)
    """Every host with Ollama containers, the main host first when it has any."""


def pull_args(s: Settings, site: Site, **kwargs: Any) -> ModelPullArgs:
    """A model pull of this site's models, each checked against its locked digest."""
    lock = load_lock()
    return ModelPullArgs(
        models=list(site.models),
        limits=s.model_pull,
        timeout_seconds=seconds(s.model_pull.timeout),
        digests={display_name(m): lock[m].digest.removeprefix("sha256:") for m in site.models if lock[m].digest},
        **kwargs,
    )


def serve(s: Settings, site: Site, nets: Networks, token: pulumi.Output[str] | None, served: Served) -> None:
    """One site's Ollama instances, each with its own pull, and (inference host) its gate."""
    if site.external:  # ollama.mode host: the main host's own Ollama
        native = HostOllama("ollama", HostOllamaArgs(image=s.images.ollama, url=s.ollama.host_url))
        hosts = [(HOST_GATEWAY_NAME, HOST_GATEWAY)] if s.ollama.maps_host_gateway else []
        # Ollama's network has no gateway: the host's Ollama is reached over one that has.
        args = pull_args(
            s, site, image_id=native.image_id, ollama_url=native.url, network=nets.ollama_egress, hosts=hosts
        )
        served.pulls.append(ModelPull("models", args))
        served.endpoints.append(OllamaEndpoint(url=native.url, models=site.models))
        return
    if not site.instances:
        return
    if site.key is None:
        host, ollama_net, egress, gate_net, exporters_net = MAIN_HOST, nets.ollama, nets.ollama_egress, None, None
    else:
        host = DockerHost(site.label, provider(s, site))
        own = OllamaNetworks("networks", OllamaNetworksArgs(host=host, exporters=s.monitors))
        ollama_net, egress, gate_net, exporters_net = own.ollama, own.egress, own.gate, own.exporters
    published = s.ports.ollama if s.publishes_ports and site.key is None else None
    instances: list[Ollama] = []
    for i in site.instances:
        instance = Ollama(
            i.name,
            OllamaArgs(
                image=ollama_image(s.images.ollama, i.gpu),
                settings=site.ollama,
                gpu=i.gpu,
                network=ollama_net,
                egress=egress,
                protect_data=s.protects_data,
                loopback_port=published + i.index if published is not None else None,
                gpu_groups=gpu_groups(i.gpu),
                host=host,
            ),
        )
        instances.append(instance)
        args = pull_args(
            s,
            site,
            container=i.pull_name,
            image_id=instance.image_id,
            ollama_url=instance.url,
            network=ollama_net,
            host=host,
        )
        served.pulls.append(ModelPull("models" if i.index == 0 else f"models-{i.index}", args))
    running = tuple((i.name, i.gpu) for i in site.instances)
    if gate_net is None:
        served.hosts.append(OllamaHost(host, site, ollama_net, running))
        for i, instance in zip(site.instances, instances, strict=True):
            served.endpoints.append(OllamaEndpoint(url=instance.url, models=site.models))
            outside = f"http://{constants.LOOPBACK}:{published + i.index}" if published is not None else None
            served.instances.append({"host": site.label, "name": i.name, "url": outside, "models": list(site.models)})
        return
    assert site.address is not None and token is not None
    vendor = s.gpu_exporter(site)
    metrics = (
        gate_cfg.metrics_routes(gpu_port=constants.GPU_EXPORTER_PORTS[vendor] if vendor else None, ollama=True)
        if s.monitors
        else []
    )
    gate = OllamaGate(
        "ollama-gate",
        OllamaGateArgs(
            image=s.images.socket_proxy,
            limits=GATE_LIMITS,
            instances=[i.name for i in site.instances],
            token=token,
            address=site.address,
            port=site.port,
            url_host=s.inference_hosts[site.label].url_host,
            ollama_network=ollama_net,
            gate_network=gate_net,
            host=host,
            metrics=metrics,
            exporters_network=exporters_net,
            wait_for=instances,
        ),
    )
    served.hosts.append(OllamaHost(host, site, ollama_net, running, exporters_net, gate.metrics))
    for i, url in zip(site.instances, gate.urls, strict=True):
        served.endpoints.append(OllamaEndpoint(url=url, models=site.models, token=token))
        served.instances.append({"host": site.label, "name": i.name, "url": url, "models": list(site.models)})
