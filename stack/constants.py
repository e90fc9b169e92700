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
}

# Paths inside the images.
OLLAMA_DATA: Final = "/root/.ollama"
OPEN_WEBUI_DATA: Final = "/app/backend/data"
POSTGRES_DATA: Final = "/var/lib/postgresql/data"
TRAEFIK_CERTS: Final = "/letsencrypt"
LITELLM_CONFIG: Final = "/app/config.yaml"
DOCKER_SOCKET: Final = "/var/run/docker.sock"
OPEN_WEBUI_UPLOADS: Final = "/app/backend/data/uploads"
OPEN_WEBUI_DB: Final = "webui.db"

# json-file log rotation for every container.
LOG_OPTS: Final = {"max-size": "10m", "max-file": "3"}
