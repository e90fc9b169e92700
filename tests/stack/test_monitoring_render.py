"""The monitoring renderers as pure functions, against hand-written expectations: several hosts
(the scale-out's inference hosts), receivers and their secrets, the backup's stamp, the pack
config's allowances."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stack.render import backup_payload
from stack.render.alertmanager import render_alertmanager_config
from stack.render.prometheus import HostTargets, Probe, ScrapePlan, render_prometheus_config
from stack.settings.monitoring import Receiver, prometheus_seconds, receiver_secret_problems
from tools import packconfig
from tools.stackfile import stack_settings


def test_one_job_per_exporter_kind_and_every_host_labelled() -> None:
    plan = ScrapePlan(
        hosts=[
            HostTargets(
                "main",
                "node-exporter:9100",
                "gpu-exporter:9400",
                "nvidia",
                "ollama-exporter:7979",
                "http://ollama:11434",
            ),
            HostTargets("gpu-b", "10.0.0.12:9100", "10.0.0.12:5000", "amd", "10.0.0.12:7979", "http://10.0.0.12:11434"),
            HostTargets("cpu-c", "10.0.0.13:9100"),
        ],
        alertmanager="alertmanager:9093",
        blackbox="blackbox-exporter:9115",
        probes=[
            Probe("postgres", "tcp_connect", "postgres:5432"),
            Probe("litellm", "http_2xx", "http://litellm:4000/x"),
        ],
        litellm="litellm:4000",
        litellm_key_file="/k",
    )
    jobs = {j["job_name"]: j for j in yaml.safe_load(render_prometheus_config(plan))["scrape_configs"]}
    assert list(jobs) == [
        "prometheus",
        "alertmanager",
        "node",
        "gpu",
        "ollama-main",
        "ollama-gpu-b",
        "litellm",
        "blackbox",
        "probe-http-2xx",
        "probe-tcp-connect",
    ]
    assert jobs["node"]["static_configs"] == [
        {"targets": ["node-exporter:9100"], "labels": {"host": "main"}},
        {"targets": ["10.0.0.12:9100"], "labels": {"host": "gpu-b"}},
        {"targets": ["10.0.0.13:9100"], "labels": {"host": "cpu-c"}},
    ]
    assert jobs["gpu"]["static_configs"] == [
        {"targets": ["gpu-exporter:9400"], "labels": {"host": "main"}},
        {"targets": ["10.0.0.12:5000"], "labels": {"host": "gpu-b"}},
    ]
    # json_exporter's probe pattern: the Ollama URL is the target, the exporter the address.
    assert jobs["ollama-gpu-b"]["params"] == {"module": ["ollama_ps"]}
    assert jobs["ollama-gpu-b"]["static_configs"] == [
        {"targets": ["http://10.0.0.12:11434/api/ps"], "labels": {"host": "gpu-b", "service": "ollama"}}
    ]
    assert jobs["ollama-gpu-b"]["relabel_configs"][-1] == {
        "target_label": "__address__",
        "replacement": "10.0.0.12:7979",
    }
    assert jobs["litellm"]["authorization"] == {"type": "Bearer", "credentials_file": "/k"}
    assert "traefik" not in jobs  # no deployed Traefik, no job
    assert jobs["probe-tcp-connect"]["static_configs"] == [
        {"targets": ["postgres:5432"], "labels": {"service": "postgres"}}
    ]


def test_receivers_by_severity_with_their_secrets() -> None:
    receivers = [
        Receiver(name="ops", type="webhook"),
        Receiver(name="phone", type="ntfy", severity="critical"),
        Receiver.model_validate(
            {
                "name": "mail",
                "type": "email",
                "to": "o@example.com",
                "fromAddress": "a@example.com",
                "smarthost": "s.example.com:587",
            }
        ),
    ]
    doc = yaml.safe_load(
        render_alertmanager_config(
            receivers, {"ops": "https://h/1", "phone": "https://ntfy.sh/t", "phone-token": "tk", "mail": "pw"}
        )
    )
    assert doc["route"]["receiver"] == "ai-stack-log-only"
    assert doc["route"]["routes"] == [
        {"receiver": "ops", "matchers": ['severity=~"warning|critical"'], "continue": True},
        {"receiver": "phone", "matchers": ['severity="critical"'], "continue": True},
        {"receiver": "mail", "matchers": ['severity=~"warning|critical"'], "continue": True},
    ]
    by_name = {r["name"]: r for r in doc["receivers"]}
    assert by_name["ops"] == {"name": "ops", "webhook_configs": [{"url": "https://h/1", "send_resolved": True}]}
    assert by_name["phone"]["webhook_configs"][0]["http_config"] == {
        "authorization": {"type": "Bearer", "credentials": "tk"}
    }
    assert by_name["mail"]["email_configs"][0]["auth_password"] == "pw"
    assert "auth_username" not in by_name["mail"]["email_configs"][0]
    # No receiver: alerts stay in Alertmanager's UI.
    bare = yaml.safe_load(render_alertmanager_config([], {}))
    assert "routes" not in bare["route"] and bare["receivers"] == [{"name": "ai-stack-log-only"}]


def test_receiver_secrets_are_checked_by_name() -> None:
    receivers = [Receiver(name="ops", type="webhook"), Receiver(name="phone", type="ntfy")]
    assert receiver_secret_problems(receivers, ["ops", "phone", "phone-token"]) == []
    problems = receiver_secret_problems(receivers, ["ops", "ops-token", "pager"])
    assert problems == [
        "ai-stack:monitoring.receivers[1]: no secret ai-stack:alertReceiverSecrets.phone (its URL); set it with "
        "`pulumi config set --secret --path 'ai-stack:alertReceiverSecrets.phone' …`",
        "ai-stack:alertReceiverSecrets.ops-token: names no receiver in ai-stack:monitoring.receivers "
        "(a `-token` belongs to an ntfy receiver)",
        "ai-stack:alertReceiverSecrets.pager: names no receiver in ai-stack:monitoring.receivers",
    ]


def test_prometheus_durations() -> None:
    # prometheus/common model.ParseDuration's grammar: largest unit first, each once.
    assert prometheus_seconds("15d") == 15 * 86400
    assert prometheus_seconds("1w2d") == 9 * 86400
    assert prometheus_seconds("1y") == 365 * 86400
    assert prometheus_seconds("90m") == 5400
    for bad in ("", "15", "2d1w", "1.5h", "15D", "1h1h"):
        with pytest.raises(ValueError, match="Prometheus duration"):
            prometheus_seconds(bad)


def test_the_backup_stamp_is_node_exporters_textfile_format(tmp_path: Path) -> None:
    path = backup_payload.stamp(tmp_path / "metrics", now=1_700_000_000.7)
    assert path.name == "ai_stack_backup.prom" and oct(path.stat().st_mode & 0o777) == "0o644"
    assert path.read_text().splitlines() == [
        "# HELP ai_stack_backup_last_success_timestamp_seconds"
        " When the last backup that completed every step finished.",
        "# TYPE ai_stack_backup_last_success_timestamp_seconds gauge",
        "ai_stack_backup_last_success_timestamp_seconds 1700000000",
    ]
    assert [p.name for p in path.parent.iterdir()] == ["ai_stack_backup.prom"]  # no temporary file left


def test_pack_config_allows_the_exporters_by_name_only() -> None:
    prod = packconfig.pack_config(stack_settings("prod"))
    assert prod["container-no-sensitive-mounts"] == {"exporterHostPaths": {"node-exporter": ["/", "/proc", "/sys"]}}
    assert prod["container-gpu-allow-list"] == {"allowedContainers": ["ollama", "gpu-exporter"]}
    dev = packconfig.pack_config(stack_settings("dev"))
    assert "container-no-sensitive-mounts" not in dev and "container-gpu-allow-list" not in dev
