"""prometheus.yml as a pure function of what there is to scrape, host by host.

Kept within what both the pinned Prometheus 3.5 and Debian 12's 2.42 accept (`promtool check
config` of each): `authorization.credentials_file` (2.26+), `static_configs` with labels,
`relabel_configs`, `params`; no `scrape_protocols`, `http_headers`, `fallback_scrape_protocol`
or `scrape_failure_log_file` (2.49+ / 3.x only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stack.render import yamltext


@dataclass(frozen=True)
class HostTargets:
    """One Docker host's exporters, as Prometheus reaches them (`name:port`; a remote host's
    private address). `host` is the label every series of this host carries."""

    host: str
    node: str
    gpu: str | None = None
    gpu_vendor: Literal["nvidia", "amd"] | None = None
    ollama_exporter: str | None = None
    """The json_exporter polling this host's Ollama instances (`ollama_urls`: what it polls)."""
    ollama_urls: tuple[str, ...] = ()
    """Each Ollama instance on this host (one per GPU with `instances: perGpu`)."""
    credentials_file: str | None = None
    """A bearer token file for this host's exporters (an inference host's, behind its Ollama
    gate): its scrapes are jobs of their own (`node-<host>`), as Prometheus authorizes per job."""


@dataclass(frozen=True)
class Probe:
    """A blackbox probe: `service` names it in alerts."""

    service: str
    module: Literal["http_2xx", "tcp_connect"]
    target: str


@dataclass(frozen=True)
class ScrapePlan:
    hosts: Sequence[HostTargets]
    alertmanager: str
    blackbox: str
    probes: Sequence[Probe]
    postgres_exporter: str | None = None
    traefik: str | None = None
    litellm: str | None = None
    litellm_key_file: str | None = None
    """LiteLLM's /metrics needs a key (litellm 1.101.0 PrometheusAuthMiddleware): a dedicated
    one, read from this file (never the master key)."""
    rule_files: Sequence[str] = ("/etc/prometheus/rules.yml",)
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    extra_labels: dict[str, str] = field(default_factory=dict)


def _static(targets: Sequence[str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"targets": list(targets)}
    if labels:
        out["labels"] = dict(sorted(labels.items()))
    return out


def _per_host(hosts: Sequence[HostTargets], attr: str) -> list[dict[str, Any]]:
    return [_static([getattr(h, attr)], {"host": h.host}) for h in hosts if getattr(h, attr)]


def _gated_jobs(h: HostTargets) -> list[dict[str, Any]]:
    """A host behind its gate: node, gpu and ollama jobs of its own, each with its token."""

    def auth() -> dict[str, Any]:
        # A fresh mapping per job: a shared one would be dumped as a YAML anchor and aliases.
        return {"authorization": {"type": "Bearer", "credentials_file": h.credentials_file}}

    labels = {"host": h.host}
    jobs = [{"job_name": f"node-{h.host}", **auth(), "static_configs": [_static([h.node], labels)]}]
    if h.gpu:
        jobs.append({"job_name": f"gpu-{h.host}", **auth(), "static_configs": [_static([h.gpu], labels)]})
    if h.ollama_exporter and h.ollama_urls:
        jobs.append(_ollama_job(h, f"ollama-{h.host}", auth()))
    return jobs


def _ollama_job(h: HostTargets, name: str, auth: dict[str, Any] | None = None) -> dict[str, Any]:
    """A host's json_exporter polling each of its Ollama instances' /api/ps (the blackbox pattern)."""
    return {
        "job_name": name,
        **(auth or {}),
        "metrics_path": "/probe",
        "params": {"module": ["ollama_ps"]},
        "static_configs": [_static([f"{url}/api/ps" for url in h.ollama_urls], {"host": h.host, "service": "ollama"})],
        "relabel_configs": _blackbox_relabel(str(h.ollama_exporter)),
    }


def _blackbox_relabel(blackbox: str) -> list[dict[str, Any]]:
    """The blackbox pattern (blackbox_exporter README): the target becomes the `target`
    parameter and the instance label, and the scrape goes to the exporter itself."""
    return [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": blackbox},
    ]


def scrape_configs(plan: ScrapePlan) -> list[dict[str, Any]]:
    direct = [h for h in plan.hosts if h.credentials_file is None]
    jobs: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [_static(["localhost:9090"])]},
        {"job_name": "alertmanager", "static_configs": [_static([plan.alertmanager])]},
        {"job_name": "node", "static_configs": _per_host(direct, "node")},
    ]
    gpus = _per_host(direct, "gpu")
    if gpus:
        jobs.append({"job_name": "gpu", "static_configs": gpus})
    ollama = [h for h in direct if h.ollama_exporter and h.ollama_urls]
    # One job per host: each host's json_exporter polls its own Ollama.
    jobs += [_ollama_job(h, "ollama" if len(ollama) == 1 else f"ollama-{h.host}") for h in ollama]
    for h in plan.hosts:
        if h.credentials_file is not None:
            jobs += _gated_jobs(h)
    if plan.traefik:
        jobs.append({"job_name": "traefik", "static_configs": [_static([plan.traefik])]})
    if plan.litellm:
        job: dict[str, Any] = {"job_name": "litellm", "static_configs": [_static([plan.litellm])]}
        if plan.litellm_key_file:
            job["authorization"] = {"type": "Bearer", "credentials_file": plan.litellm_key_file}
        jobs.append(job)
    if plan.postgres_exporter:
        jobs.append({"job_name": "postgres", "static_configs": [_static([plan.postgres_exporter])]})
    jobs.append({"job_name": "blackbox", "static_configs": [_static([plan.blackbox])]})
    for module in ("http_2xx", "tcp_connect"):
        probes = [p for p in plan.probes if p.module == module]
        if probes:
            jobs.append(
                {
                    "job_name": f"probe-{module.replace('_', '-')}",
                    "metrics_path": "/probe",
                    "params": {"module": [module]},
                    "static_configs": [_static([p.target], {"service": p.service}) for p in probes],
                    "relabel_configs": _blackbox_relabel(plan.blackbox),
                }
            )
    return jobs


def render_prometheus_config(plan: ScrapePlan) -> str:
    doc: dict[str, Any] = {
        "global": {
            "scrape_interval": plan.scrape_interval,
            "evaluation_interval": plan.evaluation_interval,
            **({"external_labels": dict(sorted(plan.extra_labels.items()))} if plan.extra_labels else {}),
        },
        "rule_files": list(plan.rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [_static([plan.alertmanager])]}]},
        "scrape_configs": scrape_configs(plan),
    }
    text: str = yamltext.dump(doc, sort_keys=False, default_flow_style=False, width=1000)
    return text
