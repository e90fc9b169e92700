"""The monitoring tier's helpers: a GPU-exporter stand-in, a webhook receiver, and the rendered
files with only the tier's changes (addresses on loopback, short waits), each change listed."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

from tests.integration.it_support import LOOPBACK

# dcgm-exporter's exposition, as its README's sample output shows it (NVIDIA/dcgm-exporter
# README.md "Quickstart": `DCGM_FI_DEV_SM_CLOCK{gpu="0", UUID="GPU-…", device="nvidia0",
# modelName="Tesla T4", Hostname="…"} 139`), for the fields of our counters file
# (stack/components/host_exporters.py DCGM_FIELDS, from etc/default-counters.csv).
DCGM_LABELS = (
    'gpu="0",UUID="GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52",pci_bus_id="00000000:01:00.0",'
    'device="nvidia0",modelName="NVIDIA RTX A5000",Hostname="gpu-exporter"'
)


@dataclass
class GpuStandIn:
    """Serves /metrics as dcgm-exporter does; `temperature` can be raised while it runs."""

    temperature: float = 45.0
    fb_used: int = 6000
    fb_free: int = 18000
    server: ThreadingHTTPServer | None = None
    scrapes: int = 0

    def exposition(self) -> str:
        from stack.components.host_exporters import DCGM_FIELDS

        values = {
            "DCGM_FI_DEV_GPU_TEMP": self.temperature,
            "DCGM_FI_DEV_MEMORY_TEMP": self.temperature - 5,
            "DCGM_FI_DEV_GPU_UTIL": 37,
            "DCGM_FI_DEV_FB_FREE": self.fb_free,
            "DCGM_FI_DEV_FB_USED": self.fb_used,
            "DCGM_FI_DEV_POWER_USAGE": 142.5,
            "DCGM_FI_DEV_XID_ERRORS": 0,
        }
        lines = []
        for name, kind, help_ in DCGM_FIELDS:
            lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name}{{{DCGM_LABELS}}} {values[name]:g}"]
        return "\n".join(lines) + "\n"

    def start(self) -> int:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                stand_in.scrapes += 1
                body = stand_in.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return int(self.server.server_address[1])

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Webhook:
    """Alertmanager's webhook receiver on loopback: keeps every notification it gets."""

    received: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hook.received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://{LOOPBACK}:{self.server.server_address[1]}/alerts"

    def firing(self, alertname: str, **labels: str) -> dict[str, Any] | None:
        for note in list(self.received):
            for alert in note.get("alerts") or []:
                got = alert.get("labels") or {}
                if (
                    alert.get("status") == "firing"
                    and got.get("alertname") == alertname
                    and all(got.get(k) == v for k, v in labels.items())
                ):
                    return dict(alert)
        return None

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


TIER_WAIT = "3s"
"""Every alert's `for:` in the tier (5 minutes for GpuTooHot in the stack)."""
TIER_INTERVAL = "1s"


def tier_rules(rendered: str) -> tuple[str, list[str]]:
    """The rendered rules with every `for:` shortened to TIER_WAIT; the changes, one per alert."""
    doc = yaml.safe_load(rendered)
    changes = []
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule and rule.get("for") != TIER_WAIT:
                changes.append(f"{rule['alert']}: for {rule['for']} -> {TIER_WAIT}")
                rule["for"] = TIER_WAIT
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000), changes


def tier_prometheus(
    rendered: str, addresses: dict[str, str], *, rules: str, key_file: str, drop_jobs: set[str], drop_probes: set[str]
) -> tuple[str, list[str]]:
    """prometheus.yml with the tier's changes: `addresses` maps a declared `name:port` (or a probe
    URL's host:port) to its loopback address; jobs and probes of what the tier does not run are
    dropped; intervals are TIER_INTERVAL; file paths are this run's. Returns the text and the
    list of changes (the test asserts it)."""
    doc = yaml.safe_load(rendered)
    changes: list[str] = []
    for key in ("scrape_interval", "evaluation_interval"):
        changes.append(f"global.{key}: {doc['global'][key]} -> {TIER_INTERVAL}")
        doc["global"][key] = TIER_INTERVAL
    changes.append(f"rule_files: {doc['rule_files']} -> [{rules}]")
    doc["rule_files"] = [rules]

    def move(target: str) -> str:
        for declared, actual in addresses.items():
            if declared in target:
                new = target.replace(declared, actual)
                changes.append(f"{target} -> {new}")
                return new
        raise AssertionError(f"no loopback address for {target}")

    for am in doc["alerting"]["alertmanagers"]:
        for sc in am["static_configs"]:
            sc["targets"] = [move(t) for t in sc["targets"]]
    jobs = []
    for job in doc["scrape_configs"]:
        if job["job_name"] in drop_jobs:
            changes.append(f"job {job['job_name']} dropped")
            continue
        kept = []
        for sc in job["static_configs"]:
            if (sc.get("labels") or {}).get("service") in drop_probes:
                changes.append(f"probe {sc['labels']['service']} dropped")
                continue
            sc["targets"] = [move(t) for t in sc["targets"]]
            kept.append(sc)
        job["static_configs"] = kept
        for relabel in job.get("relabel_configs") or []:
            if relabel.get("target_label") == "__address__":
                relabel["replacement"] = move(relabel["replacement"])
        auth = job.get("authorization")
        if auth:
            changes.append(f"job {job['job_name']} credentials_file {auth['credentials_file']} -> {key_file}")
            auth["credentials_file"] = key_file
        if kept:
            jobs.append(job)
    doc["scrape_configs"] = jobs
    return yaml.safe_dump(doc, sort_keys=False, width=1000), changes


def tier_alertmanager(rendered: str) -> tuple[str, list[str]]:
    """Alertmanager's config with notifications sent at once (the stack waits 30s and 5m)."""
    doc = yaml.safe_load(rendered)
    changes = []
    for key, value in (("group_wait", "1s"), ("group_interval", "1s")):
        changes.append(f"route.{key}: {doc['route'][key]} -> {value}")
        doc["route"][key] = value
    return yaml.safe_dump(doc, sort_keys=False, width=1000), changes


def node_exporter_argv(binary: str, declared: list[str], *, textfile: str, port: int) -> tuple[list[str], list[str]]:
    """The declared node-exporter command on this machine: the host's own paths (the container
    sees them under /host), this run's textfile directory, a loopback port."""
    out, changes = [binary], []
    for arg in declared:
        new = re.sub(r"^--path\.(procfs|sysfs)=/host(/\w+)$", r"--path.\1=\2", arg)
        new = re.sub(r"^--path\.rootfs=/host/root$", "--path.rootfs=/", new)
        new = re.sub(r"^--collector\.textfile\.directory=.*$", f"--collector.textfile.directory={textfile}", new)
        new = re.sub(r"^--web\.listen-address=.*$", f"--web.listen-address={LOOPBACK}:{port}", new)
        if new != arg:
            changes.append(f"{arg} -> {new}")
        out.append(new)
    return out, changes
