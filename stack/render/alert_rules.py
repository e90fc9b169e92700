"""Prometheus's recording and alerting rules, as a pure function of the thresholds.

Every alert here has a unit test (`promtool test rules`, tests/stack/monitoring/rules_test.yml)
and a runbook line in the README; the alerts' names are the README table's keys.

Metric names, each from its exporter's source:
- NVIDIA dcgm-exporter (NVIDIA/dcgm-exporter etc/default-counters.csv): DCGM_FI_DEV_GPU_TEMP (°C),
  DCGM_FI_DEV_GPU_UTIL (%), DCGM_FI_DEV_FB_USED / DCGM_FI_DEV_FB_FREE (MiB),
  DCGM_FI_DEV_POWER_USAGE (W), DCGM_FI_DEV_XID_ERRORS (the last XID error code, 0 when none);
  label `gpu` is the device index.
- AMD device metrics exporter (ROCm/device-metrics-exporter docs/configuration/metricslist.md,
  field names lower-cased on /metrics): gpu_junction_temperature / gpu_edge_temperature (°C),
  gpu_gfx_activity (%), gpu_used_vram / gpu_total_vram (MB), gpu_package_power (W),
  gpu_ecc_uncorrect_total; label `gpu_id`.
- node-exporter: node_memory_MemAvailable_bytes, node_memory_MemTotal_bytes,
  node_filesystem_avail_bytes, node_filesystem_size_bytes, node_filesystem_readonly.
- blackbox exporter: probe_success. Traefik (pkg/metrics/prometheus.go): traefik_service_requests_total
  {service, code}, traefik_tls_certs_not_after. The Ollama exporter (stack/render/exporters.py):
  ollama_model_size_bytes, ollama_model_size_vram_bytes. The backup's textfile:
  ai_stack_backup_last_success_timestamp_seconds (stack/render/backup_metrics.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stack.render import yamltext

SCRAPED_SERVICES = ("traefik", "litellm")
"""Services Prometheus scrapes itself: a failed scrape of one is that service down."""
EXPORTER_JOBS = ("node", "gpu", "ollama", "postgres", "blackbox", "alertmanager")
"""Scrape jobs whose target is an exporter (or Alertmanager): a failed scrape is ExporterDown."""


@dataclass(frozen=True)
class Thresholds:
    gpu_temperature_celsius: int = 85
    gpu_memory_ratio: float = 0.95
    host_memory_ratio: float = 0.90
    host_disk_ratio: float = 0.90
    http_5xx_ratio: float = 0.05
    certificate_days: int = 14
    backup_max_age_hours: int = 26
    backups: bool = True
    """Whether the stack schedules backups (BackupTooOld is rendered only then)."""


def _alert(
    name: str, expr: str, duration: str, severity: str, summary: str, description: str, **labels: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary, "description": description, "runbook": f"README.md#{name.lower()}"},
    }


def recording_rules() -> list[dict[str, str]]:
    """One name per GPU quantity whatever the vendor: the alerts and graphs read these."""

    def amd(metric: str) -> str:
        return f'label_replace({metric}, "gpu", "$1", "gpu_id", "(.*)")'

    return [
        {
            "record": "ai_stack:gpu_temperature_celsius",
            "expr": (
                "max by (host, gpu) (DCGM_FI_DEV_GPU_TEMP)"
                f" or max by (host, gpu) ({amd('gpu_junction_temperature')})"
                f" or max by (host, gpu) ({amd('gpu_edge_temperature')})"
            ),
        },
        {
            "record": "ai_stack:gpu_utilization_percent",
            "expr": f"max by (host, gpu) (DCGM_FI_DEV_GPU_UTIL) or max by (host, gpu) ({amd('gpu_gfx_activity')})",
        },
        {
            "record": "ai_stack:gpu_memory_used_ratio",
            "expr": (
                "max by (host, gpu) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE))"
                f" or max by (host, gpu) ({amd('gpu_used_vram')} / {amd('gpu_total_vram')})"
            ),
        },
        {
            "record": "ai_stack:gpu_power_watts",
            "expr": f"max by (host, gpu) (DCGM_FI_DEV_POWER_USAGE) or max by (host, gpu) ({amd('gpu_package_power')})",
        },
        {"record": "ai_stack:gpus", "expr": "count by (host) (ai_stack:gpu_temperature_celsius)"},
    ]


def alerting_rules(t: Thresholds) -> list[dict[str, Any]]:
    rules = [
        _alert(
            "GpuTooHot",
            f"ai_stack:gpu_temperature_celsius > {t.gpu_temperature_celsius}",
            "5m",
            "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.host }} is at {{ $value }} °C",
            f"Above {t.gpu_temperature_celsius} °C for 5 minutes (ai-stack:monitoring.gpuTemperatureCelsius).",
        ),
        _alert(
            "GpuMemoryNearlyFull",
            f"ai_stack:gpu_memory_used_ratio > {t.gpu_memory_ratio}",
            "10m",
            "warning",
            "GPU {{ $labels.gpu }} on {{ $labels.host }} has {{ $value | humanizePercentage }} of its memory in use",
            "The next model or a longer context will not fit in VRAM and spill to the CPU.",
        ),
        _alert(
            "ModelOffloadedToCpu",
            "(ollama_model_size_bytes - ollama_model_size_vram_bytes > 0) and on (host) (ai_stack:gpus > 0)",
            "5m",
            "warning",
            "{{ $labels.model }} on {{ $labels.host }} runs partly on the CPU",
            "Ollama holds {{ $value | humanize1024 }}B of the model outside VRAM: it answers many times slower.",
        ),
        _alert(
            "GpuErrors",
            "(DCGM_FI_DEV_XID_ERRORS > 0) or (increase(gpu_ecc_uncorrect_total[10m]) > 0)",
            "0m",
            "warning",
            "A GPU on {{ $labels.host }} reports errors",
            "NVIDIA: the value is the last XID error's code (NVIDIA's XID table says what it means); "
            "AMD: uncorrectable ECC errors in the last 10 minutes.",
        ),
        _alert(
            "HostMemoryNearlyFull",
            f"1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes > {t.host_memory_ratio}",
            "10m",
            "warning",
            "{{ $labels.host }} has {{ $value | humanizePercentage }} of its memory in use",
            "Containers near their limits are OOM-killed next.",
        ),
        _alert(
            "HostDiskNearlyFull",
            (
                '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|squashfs|overlay"}'
                ' / node_filesystem_size_bytes{fstype!~"tmpfs|ramfs|squashfs|overlay"}'
                f" > {t.host_disk_ratio} and on (host, device, mountpoint) node_filesystem_readonly == 0"
            ),
            "15m",
            "warning",
            "{{ $labels.mountpoint }} on {{ $labels.host }} is {{ $value | humanizePercentage }} full",
            "The volumes (models, databases, backups) live on this disk.",
        ),
        _alert(
            "ServiceDown",
            (
                'probe_success == 0 or label_replace(up{job=~"'
                + "|".join(SCRAPED_SERVICES)
                + '"}, "service", "$1", "job", "(.*)") == 0'
            ),
            "2m",
            "critical",
            "{{ $labels.service }} does not answer",
            "Its health probe (or its metrics scrape) has failed for 2 minutes.",
        ),
        _alert(
            "ServiceRestarting",
            (
                'changes(process_start_time_seconds{job=~"' + "|".join(SCRAPED_SERVICES) + '"}[30m]) >= 2'
                " or changes(probe_success[30m]) >= 4"
            ),
            "0m",
            "warning",
            "{{ $labels.service }}{{ $labels.job }} restarts or flaps",
            "It came back at least twice in 30 minutes.",
        ),
        _alert(
            "Http5xxRate",
            (
                'sum by (service) (rate(traefik_service_requests_total{code=~"5.."}[5m]))'
                " / sum by (service) (rate(traefik_service_requests_total[5m]))"
                f" > {t.http_5xx_ratio}"
            ),
            "5m",
            "warning",
            "{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx",
            "Measured at Traefik over 5 minutes.",
        ),
        _alert(
            "CertificateExpiringSoon",
            f"traefik_tls_certs_not_after - time() < {t.certificate_days} * 86400",
            "1h",
            "warning",
            "The certificate for {{ $labels.cn }} expires in {{ $value | humanizeDuration }}",
            f"Within {t.certificate_days} days; Traefik renews 30 days ahead, so renewal is failing.",
        ),
        _alert(
            "ExporterDown",
            # `node-gpu-1`: another host's exporters, each a job of its own (stack/render/prometheus.py).
            'up{job=~"(' + "|".join(EXPORTER_JOBS) + ')(-.+)?"} == 0',
            "5m",
            "warning",
            "{{ $labels.job }} on {{ $labels.instance }} cannot be scraped",
            "What it watches is unwatched until it is back.",
        ),
    ]
    if t.backups:
        hours = t.backup_max_age_hours
        summary = f"The last good backup is older than {hours} hours"
        description = "No backup has completed since; a restore would lose everything after it."
        rules += [
            _alert(
                "BackupTooOld",
                f"time() - max(ai_stack_backup_last_success_timestamp_seconds) > {hours * 3600}",
                "10m",
                "critical",
                summary,
                description,
                reason="stale",
            ),
            # Never written (no backup has ever succeeded, or the metric's volume was lost): the
            # same alert once that has lasted as long.
            _alert(
                "BackupTooOld",
                "absent(ai_stack_backup_last_success_timestamp_seconds)",
                f"{hours}h",
                "critical",
                summary,
                description,
                reason="never",
            ),
        ]
    return rules


def render_rules(t: Thresholds) -> str:
    """rules.yml: a recording group and an alerting group."""
    doc = {
        "groups": [
            {"name": "ai-stack-recording", "rules": recording_rules()},
            {"name": "ai-stack-alerts", "rules": alerting_rules(t)},
        ]
    }
    text: str = yamltext.dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
    return text


def alert_names(t: Thresholds) -> list[str]:
    return list(dict.fromkeys(str(r["alert"]) for r in alerting_rules(t)))
