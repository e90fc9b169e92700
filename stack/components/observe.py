"""Wires the monitoring of the stack's own host: what to probe, which exporters run, Prometheus."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from stack import constants
from stack.components.host_exporters import HostExporters, HostExportersArgs
from stack.components.litellm import Litellm
from stack.components.litellm_metrics_key import MetricsKey, MetricsKeyArgs
from stack.components.monitoring import Monitoring, MonitoringArgs, MonitoringBase
from stack.config import alert_receiver_secrets
from stack.render.prometheus import Probe
from stack.settings import Settings

MAIN_HOST = "main"
"""The `host` label of the stack's own Docker host (inference hosts carry their own names)."""


def probes(s: Settings) -> list[Probe]:
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
    if s.ollama.in_container:
        out.append(
            Probe(
                constants.OLLAMA,
                "http_2xx",
                f"http://{constants.OLLAMA}:{constants.PORTS[constants.OLLAMA]}/api/version",
            )
        )
    if s.deploys_traefik:
        out.append(
            Probe(constants.TRAEFIK, "http_2xx", f"http://{constants.TRAEFIK}:{constants.TRAEFIK_METRICS}/metrics")
        )
    return sorted(out, key=lambda p: p.service)


def observe(
    s: Settings,
    base: MonitoringBase,
    *,
    probe_networks: Sequence[pulumi.Input[str]],
    ollama_network: pulumi.Input[str],
    gpu_groups: Sequence[str],
    litellm: Litellm,
    master_key: pulumi.Output[str],
    wait_for: Sequence[pulumi.Resource],
) -> Monitoring:
    """The main host's exporters, Prometheus's LiteLLM key, then Prometheus, Alertmanager and
    the blackbox exporter."""
    images = s.images.model_dump()
    port = constants.PORTS[constants.LITELLM]
    key = MetricsKey(
        "litellm-metrics-key",
        MetricsKeyArgs(
            image_id=litellm.image_id,
            litellm_url=litellm.container_name.apply(lambda n: f"http://{n}:{port}"),
            network=base.monitoring,
            master_key=master_key,
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
            gpu_vendor=s.gpu_exporter,
            gpu=s.ollama.gpu,
            gpu_groups=gpu_groups,
            ollama_url=f"http://{constants.OLLAMA}:{constants.PORTS[constants.OLLAMA]}"
            if s.ollama.in_container
            else None,
            ollama_network=ollama_network if s.ollama.in_container else None,
            textfile_volume=base.textfile,
        ),
    )
    return Monitoring(
        "monitoring",
        MonitoringArgs(
            images=images,
            settings=s.monitoring,
            base=base,
            hosts=[exporters.targets],
            probes=probes(s),
            probe_networks=probe_networks,
            receiver_secrets=alert_receiver_secrets(s),
            litellm_metrics_key=base.litellm_metrics_key,
            traefik=s.deploys_traefik,
            backups=s.backs_up,
            protect_data=s.protects_data,
            wait_for=[exporters, key, *wait_for],
        ),
    )
