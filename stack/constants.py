"""Names, ports and pinned images shared by the program, its tests and the tools around it."""

from typing import Final

# Container names double as DNS aliases on the proxy network.
OLLAMA: Final = "ollama"
MODEL_PULL: Final = "ollama-pull"
OPEN_WEBUI: Final = "open-webui"
LITELLM: Final = "litellm"
POSTGRES: Final = "postgres"
TRAEFIK: Final = "traefik"
BACKUP: Final = "backup"
"""The scheduler: busybox crond running the backup steps, each in its own container."""
BACKUP_JOB: Final = "backup-job"
"""The one step container a backup or restore runs at a time."""
SOCKET_PROXY: Final = "docker-socket-proxy"
# Monitoring (ai-stack:monitoring): the server, its alert router and the exporters.
PROMETHEUS: Final = "prometheus"
ALERTMANAGER: Final = "alertmanager"
BLACKBOX: Final = "blackbox-exporter"
NODE_EXPORTER: Final = "node-exporter"
"""Host access: /proc, /sys and / read-only (policies/rules/exporters.py allows it by name)."""
GPU_EXPORTER: Final = "gpu-exporter"
"""Host access: the GPUs (NVIDIA's dcgm-exporter or AMD's device metrics exporter)."""
METRICS_KEY_JOB: Final = "litellm-metrics-key"
"""The run-once job that registers Prometheus's LiteLLM key, limited to /metrics."""
OLLAMA_EXPORTER: Final = "ollama-exporter"
"""prometheus-community json_exporter turning Ollama's /api/ps into metrics."""

# Networks the stack owns besides the routed one (settings `network`, `proxy` by default).
INTERNAL_NETWORK: Final = "ai-stack-internal"
"""Open WebUI -> LiteLLM (and the deploy-time key job): `internal: true`, not attachable, so
nothing on it reaches the outside or is joined by a stray container."""
DATASTORE_NETWORK: Final = "ai-stack-datastore"
"""LiteLLM <-> Postgres, and the backup's pg_dump step; Open WebUI is not on it (internal)."""
OLLAMA_NETWORK: Final = "ai-stack-ollama"
"""Ollama and what must call it: LiteLLM and the model pull (internal). Open WebUI reaches
models only through LiteLLM, with a key limited to the stack's models."""
SOCKET_NETWORK: Final = "ai-stack-socket"
"""Traefik and the Docker socket proxy, nothing else (`internal: true`)."""
MONITORING_NETWORK: Final = "ai-stack-monitoring"
"""Prometheus and what it scrapes without host access (internal): Alertmanager, the blackbox
exporter, Traefik's metrics entrypoint, LiteLLM's /metrics, the Ollama exporter."""
EXPORTERS_NETWORK: Final = "ai-stack-exporters"
"""Prometheus and the exporters that hold host access (node, GPU), nothing else (internal): they
share no network with a routed container (policies/rules/exporters.py)."""
ALERTING_NETWORK: Final = "ai-stack-alerting"
"""Alertmanager's way out to its receivers, and Prometheus's to remote hosts' exporters; the
loopback publish of both UIs goes through it (Docker publishes nothing of a container on
internal networks only). Not internal; nothing else joins it."""
OLLAMA_EGRESS_NETWORK: Final = "ai-stack-ollama-egress"
"""Ollama alone, not internal: the Ollama *server* downloads the models `ollama pull` asks for
(registry.ollama.ai, hf.co), and on the laptop Docker publishes its 127.0.0.1 port through it
(Docker publishes no port of a container attached to internal networks only)."""

# Ports the services listen on inside their containers.
PORTS: Final = {
    OLLAMA: 11434,
    OPEN_WEBUI: 8080,
    LITELLM: 4000,
    POSTGRES: 5432,
}
# Traefik listens on unprivileged ports inside its container, so it needs no capability at all
# (it drops ALL and adds nothing back); the host publishes them on 80 and 443.
TRAEFIK_HTTP: Final = 80
TRAEFIK_HTTPS: Final = 443
TRAEFIK_HTTP_LISTEN: Final = 8000
TRAEFIK_HTTPS_LISTEN: Final = 8443
# IPv6 binds reach Traefik on entrypoints of their own: two bindings of one container port
# (0.0.0.0 and ::) come back from the engine in no fixed order and replace Traefik on every
# `pulumi up` (kreuzwerker/terraform-provider-docker#909, open; fix #910 not in v4.5.0).
TRAEFIK_HTTP_V6: Final = 8081
TRAEFIK_HTTPS_V6: Final = 8444
IPV6_ANY: Final = "::"
SOCKET_PROXY_PORT: Final = 2375
TRAEFIK_METRICS: Final = 8082
"""Traefik's `metrics` entrypoint: Prometheus format, no router of ours on it, never published."""
MONITORING_PORTS: Final = {
    PROMETHEUS: 9090,
    ALERTMANAGER: 9093,
    BLACKBOX: 9115,
    NODE_EXPORTER: 9100,
    OLLAMA_EXPORTER: 7979,
}
DCGM_EXPORTER_PORT: Final = 9400
"""dcgm-exporter's default listen address :9400 (NVIDIA/dcgm-exporter README)."""
AMD_EXPORTER_PORT: Final = 5000
"""AMD device metrics exporter's default port (ROCm/device-metrics-exporter docs/index.md)."""
TRAEFIK_ADMIN: Final = "127.0.0.1:8080"
"""Traefik's own `traefik` entrypoint (ping): on its loopback only, so nothing on the routed
network reaches it (a bare `:8080` would listen on every interface of the container)."""
KEY_JOB: Final = "litellm-key"
"""The run-once job that registers Open WebUI's virtual key in LiteLLM."""
LOOPBACK: Final = "127.0.0.1"

# Exact versions; `pulumi up` never follows a moving tag. Upgrade by editing these (or the
# stack's `ai-stack:images`) and reading the upgrade notes in the README first.
IMAGES: Final = {
    "ollama": "ollama/ollama:0.32.15",
    "open_webui": "ghcr.io/open-webui/open-webui:v0.11.1",
    "litellm": "ghcr.io/berriai/litellm-database:v1.101.0",
    "postgres": "postgres:16.13",
    "traefik": "traefik:v3.7.13",
    # Backups: restic stores encrypted, checksummed, pruned snapshots (local volume or S3);
    # the Docker CLI image's busybox crond runs the steps on schedule.
    "restic": "restic/restic:0.18.0",
    "docker_cli": "docker:27.5.1-cli",
    # The Docker socket proxy: HAProxy with the program's own rules (stack/render/socket_proxy.py).
    # The HAProxy that github.com/Tecnativa/docker-socket-proxy v0.4.1 ships (`FROM
    # haproxy:3.2.4-alpine`); its section switches cannot tell the container list from a
    # container's files, so the stack no longer uses its haproxy.cfg.
    "socket_proxy": "haproxy:3.2.4-alpine",
    # Monitoring. Tags from each project's release list; to confirm against the registry on
    # the first real `pulumi up` (no registry is reachable where this was written). The rendered
    # files stay within what these and Debian 12's prometheus 2.42 / alertmanager 0.25 accept.
    "prometheus": "prom/prometheus:v3.5.0",
    "alertmanager": "prom/alertmanager:v0.28.1",
    "node_exporter": "prom/node-exporter:v1.9.1",
    "blackbox_exporter": "prom/blackbox-exporter:v0.27.0",
    "json_exporter": "quay.io/prometheuscommunity/json-exporter:v0.7.0",
    "dcgm_exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04",
    "amd_exporter": "rocm/device-metrics-exporter:v1.3.0",
}

BACKUP_METRICS_VOLUME: Final = "backup-metrics"
"""The backup's last good run (a *.prom file), read-only in node-exporter (textfile collector)."""

# Paths inside the images.
OLLAMA_DATA: Final = "/root/.ollama"
OPEN_WEBUI_DATA: Final = "/app/backend/data"
POSTGRES_DATA: Final = "/var/lib/postgresql/data"
TRAEFIK_CERTS: Final = "/letsencrypt"
LITELLM_CONFIG: Final = "/app/config.yaml"
DOCKER_SOCKET: Final = "/var/run/docker.sock"
OPEN_WEBUI_UPLOADS: Final = "/app/backend/data/uploads"
OPEN_WEBUI_DB: Final = "webui.db"
SECRETS_DIR: Final = "/run/secrets"
"""Where secrets are uploaded as files (0644: images drop to their own user before reading)."""

# json-file log rotation for every container.
LOG_OPTS: Final = {"max-size": "10m", "max-file": "3"}
