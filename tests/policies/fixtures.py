"""Compliant baseline resources for the policy tests, mutated per case."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tools.analyzer import Resource

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
CONFIG_DIR = Path(__file__).resolve().parents[2] / "policies" / "config"


def _hardened(name: str, image: str, memory: int, cpus: str, health: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "memory": memory,
        "memorySwap": memory,
        "memoryReservation": memory // 2,
        "cpus": cpus,
        "restart": "unless-stopped",
        "mustRun": True,
        "logDriver": "json-file",
        "logOpts": {"max-size": "10m", "max-file": "3"},
        "healthcheck": {
            "tests": health,
            "interval": "30s",
            "timeout": "5s",
            "retries": 3,
            "startPeriod": "20s",
        },
        "securityOpts": ["no-new-privileges:true"],
        "capabilities": {"drops": ["ALL"]},
        "networksAdvanced": [{"name": "ai-stack", "aliases": [name]}],
    }


def _labels(router: str, host: str, port: int) -> list[dict[str, str]]:
    return [
        {"label": "traefik.enable", "value": "true"},
        {"label": f"traefik.http.routers.{router}.entrypoints", "value": "websecure"},
        {"label": f"traefik.http.routers.{router}.rule", "value": f"Host(`{host}`)"},
        {
            "label": f"traefik.http.routers.{router}.tls.certresolver",
            "value": "letsencrypt",
        },
        {
            "label": f"traefik.http.services.{router}.loadbalancer.server.port",
            "value": str(port),
        },
    ]


def baseline() -> dict[str, dict[str, Any]]:
    """Compliant prod containers, keyed by docker name (fresh copies on every call)."""
    ollama = _hardened("ollama", "ollama/ollama:0.12.3", 65536, "16", ["CMD", "ollama", "list"])
    ollama["deviceRequests"] = [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]
    ollama["volumes"] = [{"volumeName": "ollama-models", "containerPath": "/root/.ollama"}]
    pull = _hardened("ollama-pull", "ollama/ollama:0.12.3", 1024, "1", ["CMD", "ollama", "--version"])
    pull.update(
        restart="no",
        attach=True,
        mustRun=False,
        envs=["OLLAMA_HOST=http://ollama:11434"],
    )
    webui = _hardened(
        "open-webui",
        "ghcr.io/open-webui/open-webui:v0.6.32",
        4096,
        "2",
        ["CMD", "curl", "-f", "http://localhost:8080/health"],
    )
    webui["labels"] = _labels("open-webui", "chat.example.com", 8080)
    webui["envs"] = [
        "OLLAMA_BASE_URL=http://ollama:11434",
        "ENABLE_SIGNUP=false",
        {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            "value": "WEBUI_SECRET_KEY=s3cr3t-webui",
        },
    ]
    webui["volumes"] = [{"volumeName": "open-webui-data", "containerPath": "/app/backend/data"}]
    litellm = _hardened(
        "litellm",
        "ghcr.io/berriai/litellm:main-v1.74.0-stable",
        2048,
        "2",
        ["CMD", "curl", "-f", "http://localhost:4000/health/liveliness"],
    )
    litellm["labels"] = _labels("litellm", "llm.example.com", 4000)
    litellm["envs"] = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": [
            "LITELLM_MASTER_KEY=sk-abc",
            "DATABASE_URL=postgresql://litellm:pw@postgres:5432/litellm",
        ],
    }
    postgres = _hardened(
        "postgres",
        "postgres:16.4-alpine",
        4096,
        "2",
        ["CMD", "pg_isready", "-U", "litellm"],
    )
    postgres["envs"] = [
        "POSTGRES_USER=litellm",
        "POSTGRES_DB=litellm",
        {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            "value": "POSTGRES_PASSWORD=pw",
        },
    ]
    postgres["volumes"] = [{"volumeName": "postgres-data", "containerPath": "/var/lib/postgresql/data"}]
    traefik = _hardened(
        "traefik",
        "traefik:v3.5.3",
        512,
        "1",
        ["CMD", "traefik", "healthcheck", "--ping"],
    )
    traefik.update(
        readOnly=True,
        capabilities={"drops": ["ALL"], "adds": ["NET_BIND_SERVICE"]},
        ports=[
            {"internal": 80, "external": 80, "protocol": "tcp"},
            {"internal": 443, "external": 443, "protocol": "tcp"},
        ],
        volumes=[
            {
                "hostPath": "/var/run/docker.sock",
                "containerPath": "/var/run/docker.sock",
                "readOnly": True,
            },
            {"volumeName": "traefik-acme", "containerPath": "/acme"},
        ],
    )
    containers = {c["name"]: c for c in (ollama, pull, webui, litellm, postgres, traefik)}
    return copy.deepcopy(containers)


def container(name: str = "open-webui", **changes: Any) -> dict[str, Any]:
    """A compliant baseline container with ``changes`` applied (``None`` removes a key)."""
    props = baseline()[name]
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def stack_resources(containers: dict[str, dict[str, Any]]) -> list[Resource]:
    """Stack resources for ``AnalyzeStack`` from container props."""
    return [Resource(CONTAINER, name, props) for name, props in containers.items()]
