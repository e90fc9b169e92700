"""The exporters' own configuration files and command lines, as pure functions."""

from __future__ import annotations

from typing import Any

from stack import constants
from stack.render import yamltext

PROBE_TIMEOUT = "5s"


def render_blackbox_config() -> str:
    """Two modules: an HTTP GET that must answer 2xx, and a TCP connect (Postgres).

    Module fields as blackbox_exporter 0.23 (Debian) and 0.27 both read them (CONFIGURATION.md):
    `prober`, `timeout`, `http.valid_status_codes` (empty: 2xx), `http.method`,
    `http.preferred_ip_protocol`, `tcp.preferred_ip_protocol`.
    """
    doc = {
        "modules": {
            "http_2xx": {
                "prober": "http",
                "timeout": PROBE_TIMEOUT,
                "http": {"method": "GET", "valid_status_codes": [], "preferred_ip_protocol": "ip4"},
            },
            "tcp_connect": {"prober": "tcp", "timeout": PROBE_TIMEOUT, "tcp": {"preferred_ip_protocol": "ip4"}},
        }
    }
    text: str = yamltext.dump(doc, sort_keys=False, default_flow_style=False)
    return text


def render_ollama_exporter_config() -> str:
    """prometheus-community/json_exporter's module for Ollama's /api/ps.

    /api/ps answers `{"models": [{"name", "model", "size", "size_vram", "digest", "expires_at",
    ...}]}` (ollama api/types.go ProcessModelResponse, v0.32.15). json_exporter (config/config.go,
    v0.7.0): a metric of `type: object` yields one series per `values` key, named
    `<name>_<key>`, for each element `path` selects, labelled by `labels` (JSONPath as
    k8s.io/client-go/util/jsonpath reads it). Here: ollama_model_size_bytes and
    ollama_model_size_vram_bytes, labelled by model.
    """
    doc: dict[str, Any] = {
        "modules": {
            "ollama_ps": {
                "metrics": [
                    {
                        "name": "ollama_model",
                        "type": "object",
                        "help": "A model Ollama has loaded: its size in memory, and how much of that is in VRAM",
                        "path": "{.models[*]}",
                        "labels": {"model": "{.name}"},
                        "values": {"size_bytes": "{.size}", "size_vram_bytes": "{.size_vram}"},
                    }
                ]
            }
        }
    }
    text: str = yamltext.dump(doc, sort_keys=False, default_flow_style=False)
    return text


NODE_COLLECTORS = (
    "cpu",
    "meminfo",
    "loadavg",
    "filesystem",
    "diskstats",
    "hwmon",
    "thermal_zone",
    "pressure",
    "textfile",
)
"""What node-exporter collects: CPU, memory, load, the disks (space and I/O), temperatures
(hwmon, thermal zones), pressure stall information and the backup's textfile. Nothing else."""
HOST_PROC, HOST_SYS, HOST_ROOT = "/host/proc", "/host/sys", "/host/root"
TEXTFILE_DIR = "/textfile"


def node_exporter_command() -> list[str]:
    """node_exporter's flags (node_exporter README, "Docker"): the host's /proc, /sys and / read
    from where they are mounted, only the collectors above, and filesystems that hold no data
    (Docker's own overlay and netns mounts, pseudo filesystems) left out."""
    return [
        f"--path.procfs={HOST_PROC}",
        f"--path.sysfs={HOST_SYS}",
        f"--path.rootfs={HOST_ROOT}",
        "--collector.disable-defaults",
        *(f"--collector.{c}" for c in NODE_COLLECTORS),
        f"--collector.textfile.directory={TEXTFILE_DIR}",
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+|var/lib/containerd/.+)($|/)",
        "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$",
        f"--web.listen-address=:{constants.MONITORING_PORTS[constants.NODE_EXPORTER]}",
    ]
