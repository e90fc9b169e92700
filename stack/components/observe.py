"""Wires the monitoring: what to probe, which exporters run on each host that runs Ollama (the
main one and every inference host), and Prometheus."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from stack import constants
from stack.components.host_exporters import HostExporters, HostExportersArgs
from stack.components.litellm import Litellm
from stack.components.litellm_metrics_key import MetricsKey, MetricsKeyArgs
from stack.components.monitoring import Monitoring, MonitoringArgs, MonitoringBase, gate_token_file
from stack.config import alert_receiver_secrets
from stack.containers import MAIN_HOST
from stack.inference import OllamaHost, gpu_groups
from stack.render.prometheus import Probe
from stack.settings import Settings


def probes(s: Settings, ollama: OllamaHost | None = None) -> list[Probe]:
    """Every service's health, as the blackbox exporter checks it; the same endpoints as the
    containers' own healthchecks."""
    out = [
        Probe(
            constants.OPEN_WEBUI,
            "http_2xx",
            f"http://{constants.OPEN_WEBUI}:{constants.PORTS[constants.OPEN_WEBUI]}/health",
        ),
        Probe(
            constants.LITELLM,
            "http_2xx",
            f"http://{constants.LITELLM}:{constants.PORTS[constants.LITELLM]}/health/liveliness",
        ),
        Probe(constants.POSTGRES, "tcp_connect", f"{constants.POSTGRES}:{constants.PORTS[constants.POSTGRES]}"),
    ]
    # Each of the main host's Ollama instances (an inference host's are LiteLLM's to health-check).
    out += [
        Probe(name, "http_2xx", f"{url}/api/version")
        for (name, _), url in zip(ollama.instances if ollama else (), ollama_urls(ollama), strict=True)
    ]
    if s.deploys_traefik:
        out.append(
            Probe(constants.TRAEFIK, "http_2xx", f"http://{constants.TRAEFIK}:{constants.TRAEFIK_METRICS}/metrics")
        )
    return sorted(out, key=lambda p: p.service)


@dataclass(frozen=True, kw_only=True)
class ObserveArgs:
    settings: Settings
    base: MonitoringBase
    probe_networks: Sequence[pulumi.Input[str]]
    """Where the blackbox exporter reaches the services it probes (besides monitoring)."""
    ollama: OllamaHost | None
    """The main host's Ollama instances (stack/inference.py), None when it runs none."""
    inference: Sequence[OllamaHost] = ()
    """The inference hosts that run Ollama: each gets its exporters, behind its gate."""
    gate_tokens: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Each inference host's gate token, by host: Prometheus sends it to scrape that host."""
    litellm: Litellm
    master_key: pulumi.Output[str]
    wait_for: Sequence[pulumi.Resource] = ()


def ollama_urls(ollama: OllamaHost | None) -> list[str]:
    """Each instance's API by container name, as a container on its network reaches it."""
    port = constants.PORTS[constants.OLLAMA]
    return [f"http://{name}:{port}" for name, _ in ollama.instances] if ollama else []


def _remote_exporters(s: Settings, base: MonitoringBase, h: OllamaHost) -> HostExporters:
    """An inference host's exporters, on its own exporters network with its gate alone."""
    assert h.exporters_network is not None
    return HostExporters(
        f"{h.host.prefix}exporters",
        HostExportersArgs(
            host=h.host,
            images=s.images.model_dump(),
            limits=s.monitoring.exporters,
            exporters_network=h.exporters_network,
            scrape_network=h.exporters_network,
            gpu_vendor=s.gpu_exporter(h.site),
            gpu=h.site.ollama.gpu,
            gpu_groups=gpu_groups(h.site.ollama.gpu),
            ollama_urls=ollama_urls(h),
            ollama_network=h.ollama_network,
            published=h.published_exporters,
            credentials_file=gate_token_file(h.host.label),
        ),
    )


def observe(args: ObserveArgs) -> Monitoring:
    """The main host's exporters, Prometheus's LiteLLM key, then Prometheus, Alertmanager and
    the blackbox exporter."""
    s, base, ollama = args.settings, args.base, args.ollama
    images = s.images.model_dump()
    port = constants.PORTS[constants.LITELLM]
    key = MetricsKey(
        "litellm-metrics-key",
        MetricsKeyArgs(
            image_id=args.litellm.image_id,
            litellm_url=args.litellm.container_name.apply(lambda n: f"http://{n}:{port}"),
            network=base.monitoring,
            master_key=args.master_key,
            metrics_key=base.litellm_metrics_key,
        ),
    )
    exporters = HostExporters(
        "exporters",
        HostExportersArgs(
            host=MAIN_HOST,
            images=images,
            limits=s.monitoring.exporters,
            exporters_network=base.exporters,
            scrape_network=base.monitoring,
            gpu_vendor=s.gpu_exporter(),
            gpu=s.ollama.gpu,
            gpu_groups=gpu_groups(s.ollama.gpu),
            ollama_urls=ollama_urls(ollama),
            ollama_network=ollama.ollama_network if ollama else None,
            textfile_volume=base.textfile,
        ),
    )
    remote = [_remote_exporters(s, base, h) for h in args.inference]
    return Monitoring(
        "monitoring",
        MonitoringArgs(
            images=images,
            settings=s.monitoring,
            base=base,
            hosts=[exporters.targets, *(r.targets for r in remote)],
            gate_tokens={h.host.label: args.gate_tokens[h.host.label] for h in args.inference},
            probes=probes(s, ollama),
            probe_networks=args.probe_networks,
            receiver_secrets=alert_receiver_secrets(s),
            litellm_metrics_key=base.litellm_metrics_key,
            traefik=s.deploys_traefik,
            backups=s.backs_up,
            protect_data=s.protects_data,
            wait_for=[exporters, *remote, key, *args.wait_for],
        ),
    )
